/// What happened. Raw values are stored and hashed: never rename.
public enum EventKind: String, CaseIterable, Sendable {
    case mount, unmount, create, openRead = "open-read", openWrite = "open-write", close, rename, unlink
    case mkdir, rmdir, relabel, protect, unprotect, share, deny, integrityFailure = "integrity-failure"
    case policyChange = "policy-change", keyChange = "key-change", setattr, setxattr, prune, repair
    /// Key service: a recipient asked for a share's key (allowed or refused); a share was revoked;
    /// an owner notification could not be delivered.
    case shareOpen = "share-open", revoke, notify, service
}

public enum Outcome: String, CaseIterable, Sendable {
    case allowed, denied, error
}

/// One ledger row. Never holds content or keys: `detail` carries justifications, denial reasons and
/// detector names with counts.
public struct LedgerEvent: Sendable, Equatable {
    public var seq: Int64 = 0
    public var time: Int64 = 0
    public var kind: EventKind
    public var outcome: Outcome
    public var uid: Int64?
    public var user: String?
    public var gid: Int64?
    public var pid: Int64?
    public var process: String?
    public var path: [UInt8]?
    public var newPath: [UInt8]?
    public var label: String?
    public var previousLabel: String?
    public var bytesRead: Int64?
    public var bytesWritten: Int64?
    public var detail: String?
    public var prevHash: [UInt8] = []
    public var hash: [UInt8] = []

    public init(
        kind: EventKind, outcome: Outcome, uid: Int64? = nil, user: String? = nil, gid: Int64? = nil,
        pid: Int64? = nil, process: String? = nil, path: [UInt8]? = nil, newPath: [UInt8]? = nil,
        label: String? = nil, previousLabel: String? = nil, bytesRead: Int64? = nil, bytesWritten: Int64? = nil,
        detail: String? = nil
    ) {
        self.kind = kind; self.outcome = outcome; self.uid = uid; self.user = user; self.gid = gid; self.pid = pid
        self.process = process; self.path = path; self.newPath = newPath; self.label = label
        self.previousLabel = previousLabel; self.bytesRead = bytesRead; self.bytesWritten = bytesWritten;
        self.detail = detail
    }

    public var pathString: String? { path.map { String(decoding: $0, as: UTF8.self) } }
    public var newPathString: String? { newPath.map { String(decoding: $0, as: UTF8.self) } }
}
