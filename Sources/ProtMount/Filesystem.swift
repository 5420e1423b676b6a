import CFuse3
import Foundation
import Glibc
import Logging
import ProtAccess
import ProtContainer
import ProtLedger
import ProtPolicy
import ProtStore
import ProtSystem
import Synchronization

/// The FUSE frontend's state: the unlocked store, the ledger, the inode table.
/// Every method runs on a libfuse worker thread and answers its request exactly once. Unchecked for two
/// fields only, `reclaimer` and `session` (a libfuse handle, not Sendable): both are set once before the
/// loop starts its threads and never changed; everything else is immutable or owns its lock.
final class Filesystem: @unchecked Sendable {
    let store: Store
    let ledger: Ledger
    let inodes: InodeTable
    let rootPath: String
    let log: Logger
    // Everything that changes the share goes through this daemon, so the kernel may keep what it was told.
    let attrTimeout = 10.0
    /// Compiled once: every file written gets a scanner over these tables.
    let detectors: DetectorSet
    /// Set once the session exists; asked for help when descriptors run out.
    var reclaimer: InodeReclaimer?
    /// Set once the session exists: for cache invalidations (`dropCachedContent`).
    var session: OpaquePointer?
    let notifications = DispatchQueue(label: "protfs-notify")
    /// Bumped by every revocation: handles judge their rights again at their next read or write.
    let rightsEpoch = Atomic<UInt64>(0)
    /// Identical refusals repeated within a second: one row and a count (RefusalCoalescer).
    let refusals: RefusalCoalescer
    let ledgerMode: LedgerMode
    /// Who may do what (ProtAccess): every handler asks it before acting.
    let decider: AccessDecider
    let headers = HeaderCache()
    /// The mode and owner users see on the mount's root; the store's own root stays 0700 root (RootAttributes).
    let rootAttributes: Mutex<RootAttributes>
    let unnamedFiles = UnnamedFilePool()
    /// Early writeback of long sequential writes, one request at a time (see `startWriteback`).
    let writeback = DispatchQueue(label: "protfs-writeback", qos: .utility)

    init(store: Store, ledger: Ledger, ledgerMode: LedgerMode = .grants, log: Logger) throws {
        self.store = store
        self.ledgerMode = ledgerMode
        decider = AccessDecider(rules: store.access, mode: ledgerMode)
        self.ledger = ledger
        self.log = log
        rootPath = URL(fileURLWithPath: store.root).resolvingSymlinksInPath().path
        let fd = Glibc.open(rootPath, oPath | O_DIRECTORY)
        guard fd >= 0 else { throw MountError.system("open \(rootPath)", .current) }
        inodes = try InodeTable(rootFD: fd)
        detectors = try DetectorSet(store.policy.detectorDefinitions)
        rootAttributes = Mutex(RootAttributes.load(root: store.root) ?? .standard)
        refusals = RefusalCoalescer { [ledger, ledgerMode, log] e in
            _ = Self.write(e, ledger: ledger, mode: ledgerMode, log: log)
        }
    }

    static let hiddenName = Store.metaDirName

    func isHidden(_ parent: Inode, _ name: String) -> Bool { parent === inodes.root && name == Self.hiddenName }

    // MARK: paths and attributes

    /// The path of an inode inside the share (`/finance/q3.xlsx`), from its descriptor, for ledger rows and policy.
    func sharePath(_ node: Inode) -> [UInt8] {
        if node === inodes.root { return Array("/".utf8) }
        // Paths change only by renames, which all pass through this daemon and bump the generation.
        let generation = inodes.renameGeneration.load(ordering: .acquiring)
        let cached = node.state.withLock { s in s.cachedPath.flatMap { $0.generation == generation ? $0.path : nil } }
        if let cached { return cached }
        let path = readPath(node)
        node.state.withLock { $0.cachedPath = (generation, path) }
        return path
    }

    private func readPath(_ node: Inode) -> [UInt8] {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = Glibc.readlink(node.procPath, &buf, Int(PATH_MAX))
        guard n > 0 else { return Self.unknownPath }
        var bytes = buf.prefix(n).map { UInt8(bitPattern: $0) }
        let root = Array(rootPath.utf8)
        if bytes.starts(with: root) { bytes.removeFirst(root.count) }
        let deleted = Array(" (deleted)".utf8)
        if bytes.count > deleted.count && Array(bytes.suffix(deleted.count)) == deleted {
            bytes.removeLast(deleted.count)
        }
        return bytes.isEmpty ? Array("/".utf8) : bytes
    }

    func childPath(_ parent: Inode, _ name: String) -> [UInt8] {
        let p = sharePath(parent)
        return (p == Array("/".utf8) ? p : p + Array("/".utf8)) + Array(name.utf8)
    }

    /// The share path of an entry about to be made in `parent`, or nil when it could not be read back later: the
    /// daemon learns paths from /proc, which gives up past PATH_MAX, and a folder rule must never be judged on a
    /// path it cannot see (such a file would get the default label). Creates there are refused (ENAMETOOLONG).
    func newEntryPath(_ parent: Inode, _ name: String) -> [UInt8]? {
        guard sharePath(parent) != Self.unknownPath else { return nil }
        let path = childPath(parent, name)
        guard rootPath.utf8.count + path.count < Int(PATH_MAX) - 1 else { return nil }
        return path
    }

    static let unknownPath = Array("?".utf8)

    static func text(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }

    /// The backing stat with the size of a container replaced by its plaintext size.
    func attributes(_ node: Inode) -> stat? {
        var st = stat()
        guard fstatat(node.fd, "", &st, atEmptyPath | AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        if node === inodes.root {
            let shown = rootAttributes.withLock { $0 }
            st.st_mode = (st.st_mode & S_IFMT) | shown.mode
            st.st_uid = shown.uid
            st.st_gid = shown.gid
        }
        return present(st)
    }

    /// chmod and chown of the mount's root change what it presents, never the store root's own mode.
    func setRootAttributes(_ attr: stat, _ toSet: Int32, _ caller: Caller) -> Int32 {
        let (before, after) = rootAttributes.withLock { a -> (RootAttributes, RootAttributes) in
            var next = a
            if toSet & FUSE_SET_ATTR_MODE != 0 { next.mode = attr.st_mode & 0o7777 }
            if toSet & FUSE_SET_ATTR_UID != 0 { next.uid = attr.st_uid }
            if toSet & FUSE_SET_ATTR_GID != 0 { next.gid = attr.st_gid }
            return (a, next)
        }
        guard before != after else { return 0 }
        do { try after.save(root: store.root) } catch { log.error("root attributes: \(error)"); return EIO }
        rootAttributes.withLock { $0 = after }
        let detail = "root mode \(String(after.mode, radix: 8)) uid \(after.uid) gid \(after.gid)"
        return record(caller.event(.setattr, .allowed, path: Array("/".utf8), detail: detail)) ? 0 : EIO
    }

    func present(_ raw: stat) -> stat {
        var st = raw
        if (st.st_mode & S_IFMT) == S_IFREG {
            let p = Layout.plaintextSize(ciphertextSize: UInt64(max(0, st.st_size))) ?? 0
            st.st_size = Int(p)
            st.st_blocks = Int((p + 511) / 512)
        }
        return st
    }

    // MARK: ledger and access decisions

    /// Appends a row and waits for its commit. Returns false when the ledger cannot record it: then the
    /// access must not be granted.
    /// Queues (or, by the ledger mode, commits) a row; false when the ledger cannot take it. Not discardable: each
    /// caller says what a lost row means for its operation (fail closed, or a refusal that stands anyway).
    func record(_ e: LedgerEvent) -> Bool {
        if e.outcome == .denied, !refusals.admit(e, now: currentTimeNanos()) { return true }
        return Self.write(e, ledger: ledger, mode: ledgerMode, log: log)
    }

    static func write(_ e: LedgerEvent, ledger: Ledger, mode: LedgerMode, log: Logger) -> Bool {
        do {
            if mode.waits(for: e) { try ledger.append(e) } else { try ledger.appendLater(e) }
            return true
        } catch {
            log.error("ledger append failed: \(error)")
            return false
        }
    }

    /// Asks the decider (ProtAccess) about one operation of `caller`.
    func decide(
        _ caller: Caller, _ op: Action, on subject: Subject = .plain, path: [UInt8],
        newPath: [UInt8]? = nil
    ) -> AccessDecision {
        decider.decide(AccessRequest(caller, op, on: subject, path: path, newPath: newPath))
    }

    /// Acts on a decision: a refusal's row is logged and its errno returned; an allowed operation's row is
    /// committed (or queued, by the ledger mode) and nil returned, or EIO when the ledger cannot take it:
    /// then the operation must not be done.
    func commit(_ decision: AccessDecision) -> Int32? {
        switch decision {
        case .failure(let refused):
            _ = record(refused.row)
            return refused.errno
        case .success(let allowed):
            guard let row = allowed.row else { return nil }
            return record(row) ? nil : EIO
        }
    }

    /// What the decider needs to know of a node: its header when it is a container.
    func subject(_ node: Inode) throws -> Subject {
        try header(of: node).map { .file($0) } ?? .plain
    }

    func integrityFailure(_ caller: Caller?, path: [UInt8], label: String?, _ error: Error) -> Int32 {
        let e =
            caller?.event(.integrityFailure, .error, path: path, label: label, detail: "\(error)")
            ?? LedgerEvent(kind: .integrityFailure, outcome: .error, path: path, label: label, detail: "\(error)")
        _ = record(e)
        log.warning("integrity failure on \(Self.text(path)): \(error)")
        return EIO
    }

    /// Reads only the header of a container (for unlink, rename and xattr decisions). Nil for non-containers.
    func header(of node: Inode) throws -> HeaderFields? {
        guard node.isRegular else { return nil }
        if let fields = node.state.withLock({ $0.open?.container.fields ?? $0.cachedHeader }) { return fields }
        let fd = withDescriptor { Glibc.open(node.procPath, O_RDONLY) }
        guard fd >= 0 else { throw MountError.system("open", .current) }
        defer { close(fd) }
        let fields = try Container.open(fd: fd, keys: store.keyLookup).fields
        headers.remember(fields, fd: fd)
        node.state.withLock { $0.cachedHeader = fields }
        return fields
    }

    func errnoFor(_ error: Error) -> Int32 {
        switch error {
        case MountError.system(_, let e), ContainerError.io(_, let e): return e.rawValue
        default: return EIO  // integrity failures included: never wrong bytes
        }
    }

    // MARK: lookup, getattr, setattr

    func lookup(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, ENOENT) }
        switch entry(parent, name) {
        case .success(let (node, st)): replyEntry(req, node, st)
        case .failure(let e): reply(req, e.rawValue)
        }
    }


    /// Runs an open; when the daemon is out of descriptors, has cold inodes reclaimed and tries again.
    /// (Not for long: the request may hold the kernel's lock on the very folder whose entries the reclaimer
    /// needs to drop, so waiting longer would only delay the EMFILE.)
    func withDescriptor(_ open: () -> Int32) -> Int32 {
        var fd = open()
        guard fd < 0 && errno == EMFILE else { return fd }
        unnamedFiles.giveBack()
        for _ in 0..<5 {
            // Forgotten inodes whose descriptors wait for the closer thread are closed here and now.
            inodes.closeForgotten()
            fd = open()
            if fd >= 0 || errno != EMFILE { return fd }
            reclaimer?.relieve()
        }
        inodes.closeForgotten()
        return open()
    }

    /// Opens a child with oPath and registers it (one lookup counted).
    func entry(_ parent: Inode, _ name: String) -> Result<(Inode, stat), Errno> {
        // Half way from the pressure mark to the limit, new entries wait up to 20 ms. A burst of lookups in one
        // folder (`ls -l` of 3,000 files on 1,024 descriptors) outran the reclaimer's invalidations, some of
        // which wait for that folder's lock (one took 105 ms while 93 entries came in), and got EMFILE in
        // half the runs; with the pause, 0 of 40. Waiting longer would only hold the lock the reclaimer needs.
        for _ in 0..<20 where inodes.overfull {
            inodes.closeForgotten()
            reclaimer?.relieve(ms: 1)
        }
        let fd = withDescriptor { openat(parent.fd, name, oPath | O_NOFOLLOW) }
        guard fd >= 0 else { return .failure(Errno(errno)) }
        var st = stat()
        guard fstatat(fd, "", &st, atEmptyPath | AT_SYMLINK_NOFOLLOW) == 0 else {
            let e = errno; close(fd); return .failure(Errno(e))
        }
        let node = inodes.adopt(fd: fd, st: st, parent: parent.ino, name: name)
        return .success((node, present(st)))
    }

    func getattr(_ req: fuse_req_t?, _ ino: UInt64) {
        guard let node = inodes.get(ino), let st = attributes(node) else {
            return reply(req, errno == 0 ? ENOENT : errno)
        }
        var s = st
        fuse_reply_attr(req, &s, attrTimeout)
    }

    func setattr(
        _ req: fuse_req_t?, _ ino: UInt64, _ attr: stat, _ toSet: Int32, _ fi: UnsafeMutablePointer<fuse_file_info>?
    ) {
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        let handle = fi.map { Self.handle($0.pointee.fh) }
        let path = sharePath(node)
        if node.isRegular {
            let change = AttributeChange(
                size: toSet & FUSE_SET_ATTR_SIZE != 0 ? Int64(attr.st_size) : nil,
                mode: toSet & FUSE_SET_ATTR_MODE != 0 ? attr.st_mode : nil,
                uid: toSet & FUSE_SET_ATTR_UID != 0 ? attr.st_uid : nil,
                gid: toSet & FUSE_SET_ATTR_GID != 0 ? attr.st_gid : nil,
                times: toSet & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME) != 0)
            if !change.needed.isEmpty {
                let caller = Caller(req)
                let subject: Subject
                if let h = handle, change.needed == [.edit], h.canWrite {
                    subject = .judged(currentRights(h), label: h.file.container.fields.labelId)
                } else {
                    do {
                        guard let f = try header(of: node) else { return reply(req, EIO) }
                        subject = .file(f)
                    } catch { return reply(req, integrityFailure(caller, path: path, label: nil, error)) }
                }
                if let e = commit(decide(caller, .setattr(change), on: subject, path: path)) { return reply(req, e) }
            }
        }
        var toSet = toSet
        let who = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID
        if node === inodes.root && toSet & who != 0 {
            let e = setRootAttributes(attr, toSet, Caller(req))
            guard e == 0 else { return reply(req, e) }
            // The rest (times) applies to the store root as to any folder; it used to be dropped.
            toSet &= ~who
            if toSet == 0 { return getattr(req, ino) }
        }
        // Through the handle's descriptor when there is one (tar's fchmod, futimens): no /proc path to resolve.
        let fd = handle?.file.fd
        if toSet & FUSE_SET_ATTR_MODE != 0 {
            let done = fd.map { fchmod($0, attr.st_mode & 0o7777) } ?? chmod(node.procPath, attr.st_mode & 0o7777)
            guard done == 0 else { return reply(req, errno) }
        }
        if toSet & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID) != 0 {
            let uid = toSet & FUSE_SET_ATTR_UID != 0 ? attr.st_uid : uid_t.max
            let gid = toSet & FUSE_SET_ATTR_GID != 0 ? attr.st_gid : gid_t.max
            guard fchownat(node.fd, "", uid, gid, atEmptyPath | AT_SYMLINK_NOFOLLOW) == 0 else {
                return reply(req, errno)
            }
            // The `owner` grantee follows the file's owner: a chown (by a holder of `owner`) hands it over.
            if node.isRegular && toSet & FUSE_SET_ATTR_UID != 0 {
                do {
                    try withOpenFile(node) { file in
                        var f = file.container.fields
                        guard f.ownerUid != uid else { return }
                        f.ownerUid = uid
                        try file.container.rewriteHeader(
                            f, kek: try store.labelKey(f.labelId, version: f.labelKeyVersion))
                    }
                } catch { return reply(req, errnoFor(error)) }
            }
        }
        if toSet & FUSE_SET_ATTR_SIZE != 0 {
            do {
                try withOpenFile(node) { try $0.container.truncate(to: UInt64(attr.st_size)) }
            } catch { return reply(req, errnoFor(error)) }
        }
        if toSet & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME) != 0 {
            var ts = [timespec(tv_sec: 0, tv_nsec: utimeOmit), timespec(tv_sec: 0, tv_nsec: utimeOmit)]
            if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 {
                ts[0].tv_nsec = utimeNow
            } else if toSet & FUSE_SET_ATTR_ATIME != 0 {
                ts[0] = attr.st_atim
            }
            if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 {
                ts[1].tv_nsec = utimeNow
            } else if toSet & FUSE_SET_ATTR_MTIME != 0 {
                ts[1] = attr.st_mtim
            }
            // Without a handle, through /proc/self/fd so an oPath descriptor works; symlinks keep their times.
            if let fd {
                guard futimens(fd, ts) == 0 else { return reply(req, errno) }
            } else if (attributes(node)?.st_mode ?? 0) & S_IFMT != S_IFLNK {
                guard utimensat(AT_FDCWD, node.procPath, ts, 0) == 0 else { return reply(req, errno) }
            }
        }
        getattr(req, ino)
    }

    /// Runs `body` on the shared open view of a regular file, opening it for the duration if no handle has it.
    func withOpenFile<R>(_ node: Inode, _ body: (OpenFile) throws -> R) throws -> R {
        let file = try acquire(node)
        defer { releaseFile(node) }
        return try body(file)
    }

    /// The shared view of a regular file, opening it if no handle has it. `opened` is a read-write descriptor of
    /// the backing file the caller already has (ownership passes here).
    func acquire(_ node: Inode, opened: Int32? = nil) throws -> OpenFile {
        var spare = opened
        while true {
            let (shared, epoch) = node.state.withLock { s -> (OpenFile?, UInt64) in
                if let f = s.open { s.openCount += 1; return (f, 0) }
                return (nil, s.viewEpoch)
            }
            if let shared { if let spare { close(spare) }; return shared }
            // Opened and authenticated outside the table lock: on a cold cache this waits for the disk, and
            // every other request needs the lock.
            let fd = spare ?? withDescriptor { Glibc.open(node.procPath, O_RDWR) }
            spare = nil
            guard fd >= 0 else { throw MountError.system("open", .current) }
            let c: Container
            do { c = try Container.open(fd: fd, keys: store.keyLookup) } catch { close(fd); throw error }
            let fresh = OpenFile(fd: fd, container: c)
            let installed = node.state.withLock { s -> OpenFile? in
                if let f = s.open { s.openCount += 1; return f }  // another request opened it meanwhile
                // A view opened and closed meanwhile may have written while this one was being read.
                guard s.viewEpoch == epoch else { return nil }
                s.cachedHeader = c.fields
                s.open = fresh
                s.openCount = 1
                return fresh
            }
            if let installed { return installed }
        }
    }

    func releaseFile(_ node: Inode) {
        let closed = node.state.withLock { s -> OpenFile? in
            guard let f = s.open else { return nil }
            s.openCount -= 1
            guard s.openCount == 0 else { return nil }
            s.cachedHeader = f.container.fields; s.open = nil; s.viewEpoch += 1
            return f
        }
        // Remembered when the last handle goes (opens meanwhile use the view), stamped after any writes; its
        // descriptor stays open while `closed` is held, so the stamp is taken outside the table lock.
        if let closed { headers.remember(closed.container.fields, fd: closed.fd) }
    }

    func readlink(_ req: fuse_req_t?, _ ino: UInt64) {
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(node.fd, "", &buf, Int(PATH_MAX))
        guard n >= 0 else { return reply(req, errno) }
        buf[n] = 0
        fuse_reply_readlink(req, buf)
    }

    func statfs(_ req: fuse_req_t?) {
        var sv = statvfs()
        guard statvfs(rootPath, &sv) == 0 else { return reply(req, errno) }
        fuse_reply_statfs(req, &sv)
    }

    // MARK: replies

    func reply(_ req: fuse_req_t?, _ err: Int32) { fuse_reply_err(req, err) }

    func replyEntry(_ req: fuse_req_t?, _ node: Inode, _ st: stat) {
        var e = fuse_entry_param()
        e.ino = node.ino
        e.attr = st
        e.attr_timeout = attrTimeout
        e.entry_timeout = attrTimeout
        fuse_reply_entry(req, &e)
    }

    static func handle(_ fh: UInt64) -> Handle {
        Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fh))!).takeUnretainedValue()
    }
}


// UTIME_NOW and UTIME_OMIT are macros Swift does not import.
let utimeNow = (1 << 30) - 1
let utimeOmit = (1 << 30) - 2
