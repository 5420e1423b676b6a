import Glibc
import Synchronization

/// The account name of a uid, for ledger rows. Every row names its user and a lookup reads the account
/// database, so answers (including "no such user") are kept for a minute.
public func userName(uid: UInt32) -> String? { UserNames.shared.name(uid) }

final class UserNames: Sendable {
    static let shared = UserNames()
    static let ttl: UInt64 = 60_000_000_000
    private let known = Mutex<[UInt32: (name: String?, at: UInt64)]>([:])

    func name(_ uid: UInt32) -> String? {
        let now = monotonicNanos()
        if let hit = known.withLock({ $0[uid] }), now &- hit.at < Self.ttl { return hit.name }
        let name = Self.lookup(uid)
        known.withLock { known in
            if known.count >= 4096 { known.removeAll() }
            known[uid] = (name, now)
        }
        return name
    }

    /// getpwuid_r: getpwuid's static result is shared by every thread of the daemon.
    static func lookup(_ uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &entry, &buf, buf.count, &result) == 0, result != nil, let n = entry.pw_name else {
            return nil
        }
        return String(cString: n)
    }
}

/// Names in policies (`user:alice`, `group:finance`) to numbers, looked up once per name and kept for the
/// life of the process.
public final class NameCache: Sendable {
    public static let shared = NameCache()
    private let users = Mutex<[String: UInt32?]>([:])
    private let groups = Mutex<[String: UInt32?]>([:])

    public func uid(of name: String) -> UInt32? {
        Self.known(name, in: users) { getpwnam($0).map { $0.pointee.pw_uid } }
    }

    public func gid(of name: String) -> UInt32? {
        Self.known(name, in: groups) { getgrnam($0).map { $0.pointee.gr_gid } }
    }

    /// Looked up under the lock: getpwnam's and getgrnam's static results are shared by every thread.
    private static func known(
        _ name: String, in cache: borrowing Mutex<[String: UInt32?]>,
        _ lookup: (String) -> UInt32?
    ) -> UInt32? {
        cache.withLock { known in
            if let hit = known[name] { return hit }
            let v = lookup(name)
            known[name] = v
            return v
        }
    }
}
