import ProtLedger
import ProtPolicy
import ProtSystem

/// Who asks: the identity access is decided on, and the names its ledger rows carry. Transport-free: the
/// mount builds one from a FUSE request (`Caller(req)` in ProtMount), a test from numbers.
public struct Caller: Sendable {
    public let uid: UInt32
    public let gid: UInt32
    public let pid: Int32
    public let identity: Identity
    /// Read at the request, while the process exists (a handle's close may come after it has exited).
    public let processName: String

    public init(uid: UInt32, gid: UInt32, pid: Int32, identity: Identity, processName: String) {
        self.uid = uid; self.gid = gid; self.pid = pid; self.identity = identity; self.processName = processName
    }

    public func event(
        _ kind: EventKind, _ outcome: Outcome, path: [UInt8]?, newPath: [UInt8]? = nil,
        label: String? = nil, previousLabel: String? = nil, detail: String? = nil
    ) -> LedgerEvent {
        LedgerEvent(
            kind: kind, outcome: outcome, uid: Int64(uid), user: userName(uid: uid), gid: Int64(gid),
            pid: Int64(pid), process: processName, path: path, newPath: newPath, label: label,
            previousLabel: previousLabel, detail: detail)
    }
}
