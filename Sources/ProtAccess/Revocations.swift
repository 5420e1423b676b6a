import ProtContainer
import ProtCrypto
import Synchronization

/// Per-file grants that no longer count, wherever the file is now: `SHAREID/IDENTITY` or `SHAREID/*`.
/// Filled at mount from the share records and by every revoke; read by every decision on a file with grants.
public final class Revocations: Sendable {
    private let revoked = Mutex<Set<String>>([])

    public init() {}

    /// Makes the grants of a share (of one grantee, or all with nil) count for nothing from now on.
    public func revoke(shareId: [UInt8], grantee: String?) {
        let key = Hex.encode(shareId) + "/" + (grantee ?? "*")
        _ = revoked.withLock { $0.insert(key) }
    }

    public func contains(_ g: Grant) -> Bool {
        let id = Hex.encode(g.shareId)
        return revoked.withLock { set in
            !set.isEmpty && (set.contains(id + "/*") || set.contains(id + "/" + g.identity))
        }
    }
}
