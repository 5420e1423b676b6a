import Glibc

/// The mode and owner the mount presents for its root. The store's own root is root's alone (0700): backing files
/// keep their creator's uid and mode, so a store others can enter lets them roll back, replace or delete containers
/// with no ledger row. The share's root is what users see through the mount, kept here instead of on the store.
public struct RootAttributes: Equatable, Sendable {
    public var mode: mode_t
    public var uid: uid_t
    public var gid: gid_t

    public init(mode: mode_t, uid: uid_t, gid: gid_t) { self.mode = mode & 0o7777; self.uid = uid; self.gid = gid }

    public static let fileName = "root-attributes"
    /// What a share's root looked like before the store was locked down: a folder of root's, listable by all.
    public static let standard = RootAttributes(mode: 0o755, uid: 0, gid: 0)

    static func path(_ root: String) -> String { root + "/" + Store.metaDirName + "/" + fileName }

    /// The attributes kept for the store at `root`, or nil when none are kept.
    public static func load(root: String) -> RootAttributes? {
        guard let bytes = try? Store.readFile(path(root)) else { return nil }
        let words = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 3, let m = mode_t(words[0], radix: 8), let u = uid_t(words[1]), let g = gid_t(words[2]),
            m <= 0o7777
        else { return nil }
        return RootAttributes(mode: m, uid: u, gid: g)
    }

    public func save(root: String) throws {
        try AtomicFile.write(Array("\(String(mode, radix: 8)) \(uid) \(gid)\n".utf8), to: Self.path(root))
    }

    /// Makes the store root root's alone, keeping what it presented until now as the mount root's attributes.
    /// Returns a sentence for the administrator when something had to change, nil when the store was already closed.
    public static func lockDown(root: String) throws -> String? {
        var st = stat()
        guard lstat(root, &st) == 0 else { throw StoreError.io(root, String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw StoreError.io(root, "the store root is not a directory") }
        var presented = load(root: root)
        if presented == nil {
            let was =
                (st.st_mode & 0o077) == 0 && st.st_uid == 0
                ? standard
                : RootAttributes(mode: st.st_mode, uid: st.st_uid, gid: st.st_gid)
            try was.save(root: root)
            presented = was
        }
        guard (st.st_mode & 0o7777) != 0o700 || st.st_uid != 0 || st.st_gid != 0 else { return nil }
        guard chown(root, 0, 0) == 0, chmod(root, 0o700) == 0 else {
            throw StoreError.io(
                root,
                "cannot make the store root root's alone (\(String(cString: strerror(errno)))); "
                    + "run as root, or chmod 0700 it yourself")
        }
        return "the store root \(root) was mode \(String(st.st_mode & 0o7777, radix: 8)) owned by uid \(st.st_uid): "
            + "local users could change containers behind the mount; it is now 0700 root (the mount presents "
            + "mode \(String((presented ?? standard).mode, radix: 8)))"
    }
}
