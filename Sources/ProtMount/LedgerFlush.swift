import CFuse3
import CLinux
import Foundation

/// Readers of the ledger (`protfs audit`, `status`) ask each mount of the store to commit what it has
/// queued, so they see every operation that happened before they started: reading this xattr on the
/// mount's root returns once the daemon's write-behind queue is committed.
public enum LedgerFlush {
    public static let xattr = "user.protfs.flush-ledger"

    /// Flushes every mount of `store` (an absolute path); mounts that do not answer are skipped.
    public static func request(store: String) {
        for target in MountTable.mountpoints(ofStore: store) {
            var buf = [UInt8](repeating: 0, count: 32)
            _ = getxattr(target, xattr, &buf, buf.count)
        }
    }
}
