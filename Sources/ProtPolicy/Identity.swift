import Foundation
import Glibc
import Synchronization
import ProtSystem

/// Who is asking: the caller of a filesystem operation or of a CLI command.
public struct Identity: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    private let supplementary: GroupList
    /// Supplementary groups; read on first use when the identity was made with a loader (the mount reads
    /// them from /proc only for decisions that a group grant could change).
    public var groups: [UInt32] { supplementary.value }

    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid; self.gid = gid; supplementary = GroupList(groups)
    }

    public init(uid: UInt32, gid: UInt32, loadGroups: @escaping @Sendable () -> [UInt32]) {
        self.uid = uid; self.gid = gid; supplementary = GroupList(loadGroups)
    }

    public static func == (a: Identity, b: Identity) -> Bool {
        a.uid == b.uid && a.gid == b.gid && a.groups == b.groups
    }

    public func isMember(of g: UInt32) -> Bool { g == gid || groups.contains(g) }

    /// The identity of this process.
    public static var current: Identity {
        let n = getgroups(0, nil)
        var gs = [gid_t](repeating: 0, count: Int(max(n, 0)))
        let m = getgroups(n, &gs)
        return Identity(uid: getuid(), gid: getgid(), groups: Array(gs.prefix(Int(max(m, 0)))))
    }

    /// The identity of a named local user with their primary and supplementary groups.
    public static func user(_ name: String) -> Identity? {
        guard let pw = getpwnam(name) else { return nil }
        let gid = pw.pointee.pw_gid
        var count: Int32 = 64
        var gs = [gid_t](repeating: 0, count: 64)
        if getgrouplist(name, gid, &gs, &count) < 0 {
            gs = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, gid, &gs, &count)
        }
        return Identity(uid: pw.pointee.pw_uid, gid: gid, groups: Array(gs.prefix(Int(count))))
    }

    public var allGroups: Set<UInt32> { Set(groups + [gid]) }
}

/// Who a label or file grants rights to.
public enum Grantee: Hashable, Sendable, CustomStringConvertible {
    case user(String), uid(UInt32), group(String), gid(UInt32), owner, everyone

    public static func parse(_ text: String) -> Grantee? {
        switch text {
        case "owner": return .owner
        case "everyone": return .everyone
        default: break
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let kind = text[..<colon], value = String(text[text.index(after: colon)...])
        guard !value.isEmpty else { return nil }
        switch kind {
        case "user": return .user(value)
        case "group": return .group(value)
        case "uid": return UInt32(value).map(Grantee.uid)
        case "gid": return UInt32(value).map(Grantee.gid)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .user(let n): return "user:\(n)"
        case .uid(let n): return "uid:\(n)"
        case .group(let n): return "group:\(n)"
        case .gid(let n): return "gid:\(n)"
        case .owner: return "owner"
        case .everyone: return "everyone"
        }
    }

    /// Names resolve through the host's user and group databases at decision time.
    public func matches(_ who: Identity, fileOwner: UInt32?) -> Bool {
        switch self {
        case .everyone: return true
        case .owner: return fileOwner == who.uid
        case .uid(let u): return u == who.uid
        case .gid(let g): return who.isMember(of: g)
        case .user(let name): return NameCache.shared.uid(of: name) == who.uid
        case .group(let name):
            guard let g = NameCache.shared.gid(of: name) else { return false }
            return who.isMember(of: g)
        }
    }

    /// Whether a name can be resolved on this host (policy check warns when not).
    public var isResolvable: Bool {
        switch self {
        case .user(let n): return NameCache.shared.uid(of: n) != nil
        case .group(let n): return NameCache.shared.gid(of: n) != nil
        default: return true
        }
    }
}

/// A group list, given or loaded once on first use.
final class GroupList: Sendable {
    private let loaded: Mutex<[UInt32]?>
    private let load: (@Sendable () -> [UInt32])?

    init(_ groups: [UInt32]) { loaded = Mutex(groups); load = nil }
    init(_ load: @escaping @Sendable () -> [UInt32]) { loaded = Mutex(nil); self.load = load }

    var value: [UInt32] {
        loaded.withLock { [load] loaded in
            if let loaded { return loaded }
            let v = load?() ?? []
            loaded = v
            return v
        }
    }
}
