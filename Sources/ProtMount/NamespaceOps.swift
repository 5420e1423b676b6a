import CFuse3
import CLinux
import Glibc
import ProtAccess
import ProtContainer
import ProtLedger
import ProtPolicy
import ProtStore

extension Filesystem {
    /// Gives a new backing object to its creator, as a local filesystem would.
    func chownToCaller(_ parent: Inode, _ name: String, _ caller: Caller) {
        fchownat(parent.fd, name, caller.uid, caller.gid, AT_SYMLINK_NOFOLLOW)
    }

    /// The kernel has already applied the caller's umask to `mode`; the daemon's own umask must not apply
    /// again. Set after the chown, which would clear set-id bits.
    func setRequestedMode(_ parent: Inode, _ name: String, _ mode: mode_t) {
        fchmodat(parent.fd, name, mode & 0o7777, 0)
    }

    /// EEXIST for a name already taken, before any row: `mkdir -p` and `ln -sf` retries ask often, and a
    /// row then a "not done" row for each would only fill the ledger. (A name made in between is caught by
    /// the syscall itself, with its "not done" row.)
    func taken(_ parent: Inode, _ name: String) -> Bool {
        var st = stat()
        return fstatat(parent.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
    }

    func replyNew(_ req: fuse_req_t?, _ parent: Inode, _ name: String) {
        switch entry(parent, name) {
        case .success(let (node, st)): replyEntry(req, node, st)
        case .failure(let e): reply(req, e.rawValue)
        }
    }

    func mknod(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String, _ mode: mode_t, _ rdev: dev_t) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        // A regular file made by mknod is created as a container like any other.
        let caller = Caller(req)
        if mode & S_IFMT == S_IFREG || mode & S_IFMT == 0 {
            switch newContainer(parent, name, mode, caller) {
            case .success(let made): close(made.fd); return replyNew(req, parent, name)
            case .failure(let e): return reply(req, e.rawValue)
            }
        }
        guard let path = newEntryPath(parent, name) else { return reply(req, ENAMETOOLONG) }
        // The row first, as for every namespace change: a ledger that cannot take it refuses the change.
        if taken(parent, name) { return reply(req, EEXIST) }
        if let e = commit(decide(caller, .mknod(mode: mode), path: path)) { return reply(req, e) }
        guard mknodat(parent.fd, name, mode, rdev) == 0 else {
            return reply(req, failedAfterRow(caller, .create, path, errno))
        }
        chownToCaller(parent, name, caller)
        setRequestedMode(parent, name, mode)
        replyNew(req, parent, name)
    }

    func mkdir(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String, _ mode: mode_t) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        guard let path = newEntryPath(parent, name) else { return reply(req, ENAMETOOLONG) }
        let caller = Caller(req)
        if taken(parent, name) { return reply(req, EEXIST) }
        if let e = commit(decide(caller, .mkdir, path: path)) { return reply(req, e) }
        guard mkdirat(parent.fd, name, mode) == 0 else {
            return reply(req, failedAfterRow(caller, .mkdir, path, errno))
        }
        chownToCaller(parent, name, caller)
        setRequestedMode(parent, name, mode)
        replyNew(req, parent, name)
    }

    func symlink(_ req: fuse_req_t?, _ target: String, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        guard let path = newEntryPath(parent, name) else { return reply(req, ENAMETOOLONG) }
        let caller = Caller(req)
        if taken(parent, name) { return reply(req, EEXIST) }
        if let e = commit(decide(caller, .symlink, path: path)) { return reply(req, e) }
        guard symlinkat(target, parent.fd, name) == 0 else {
            return reply(req, failedAfterRow(caller, .create, path, errno))
        }
        chownToCaller(parent, name, caller)
        replyNew(req, parent, name)
    }

    /// The header of a child, if it is a container.
    func childHeader(_ parent: Inode, _ name: String) throws -> HeaderFields? {
        guard case .success(let (node, _)) = entry(parent, name) else { return nil }
        defer { inodes.forget(node.ino, 1) }
        return try header(of: node)
    }

    func unlink(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        let caller = Caller(req)
        let path = childPath(parent, name)
        let subject: Subject
        do { subject = try childHeader(parent, name).map { .file($0) } ?? .plain } catch {
            return reply(req, integrityFailure(caller, path: path, label: nil, error))
        }
        // The row first: a ledger that cannot take it refuses the removal (it answered 0 after a failed row).
        if let e = commit(decide(caller, .unlink, on: subject, path: path)) { return reply(req, e) }
        guard unlinkat(parent.fd, name, 0) == 0 else { return reply(req, failedAfterRow(caller, .unlink, path, errno)) }
        reply(req, 0)
    }

    /// The row of an operation logged as allowed whose syscall then failed, so the ledger does not claim it
    /// happened. Returns `e`.
    func failedAfterRow(
        _ caller: Caller, _ kind: EventKind, _ path: [UInt8], _ e: Int32,
        newPath: [UInt8]? = nil
    ) -> Int32 {
        _ = record(
            caller.event(
                kind, .error, path: path, newPath: newPath,
                detail: "not done: \(String(cString: strerror(e)))"))
        return e
    }

    func rmdir(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        let caller = Caller(req)
        let path = childPath(parent, name)
        if let e = commit(decide(caller, .rmdir, path: path)) { return reply(req, e) }
        guard unlinkat(parent.fd, name, AT_REMOVEDIR) == 0 else {
            return reply(req, failedAfterRow(caller, .rmdir, path, errno))
        }
        reply(req, 0)
    }

    func rename(
        _ req: fuse_req_t?, _ parentIno: UInt64, _ name: String, _ newParentIno: UInt64, _ newName: String,
        _ flags: UInt32
    ) {
        guard let parent = inodes.get(parentIno), let newParent = inodes.get(newParentIno) else {
            return reply(req, ENOENT)
        }
        if isHidden(parent, name) || isHidden(newParent, newName) { return reply(req, EPERM) }
        guard flags & ~UInt32(RENAME_NOREPLACE | RENAME_EXCHANGE) == 0 else { return reply(req, EINVAL) }
        let caller = Caller(req)
        let from = childPath(parent, name)
        guard let to = newEntryPath(newParent, newName) else { return reply(req, ENAMETOOLONG) }
        let source: Subject, replaced: HeaderFields?
        do {
            source = try childHeader(parent, name).map { .file($0) } ?? .plain
            replaced = flags & UInt32(RENAME_NOREPLACE) == 0 ? try childHeader(newParent, newName) : nil
        } catch { return reply(req, integrityFailure(caller, path: from, label: nil, error)) }
        let move = Action.rename(
            replaced: replaced, crossesFolders: parent !== newParent,
            exchange: flags & UInt32(RENAME_EXCHANGE) != 0)
        if let e = commit(decide(caller, move, on: source, path: from, newPath: to)) { return reply(req, e) }
        let renamed = protfs_renameat2(parent.fd, name, newParent.fd, newName, flags) == 0
        let e = errno
        inodes.renameGeneration.add(1, ordering: .releasing)
        guard renamed else { return reply(req, failedAfterRow(caller, .rename, from, e, newPath: to)) }
        // Within one folder the folder label cannot change: only a move to another folder may raise it; a moved
        // folder's files are raised with it, and an exchange raises what came the other way.
        if parent !== newParent {
            raiseMoved(newParent, newName, caller: caller)
            if flags & UInt32(RENAME_EXCHANGE) != 0 { raiseMoved(parent, name, caller: caller) }
        }
        reply(req, 0)
    }

    func link(_ req: fuse_req_t?, _ ino: UInt64, _ newParentIno: UInt64, _ newName: String) {
        guard let node = inodes.get(ino), let newParent = inodes.get(newParentIno) else { return reply(req, ENOENT) }
        if isHidden(newParent, newName) { return reply(req, EPERM) }
        let caller = Caller(req)
        let path = sharePath(node)
        let subject: Subject
        do { subject = node.isRegular ? try self.subject(node) : .plain } catch {
            return reply(req, integrityFailure(caller, path: path, label: nil, error))
        }
        // A new name is a file coming to live in that folder: the folder's rule, as for a create or a move.
        guard let to = newEntryPath(newParent, newName) else { return reply(req, ENAMETOOLONG) }
        if taken(newParent, newName) { return reply(req, EEXIST) }
        if let e = commit(decide(caller, .link, on: subject, path: path, newPath: to)) { return reply(req, e) }
        guard linkat(AT_FDCWD, node.procPath, newParent.fd, newName, AT_SYMLINK_FOLLOW) == 0 else {
            return reply(req, failedAfterRow(caller, .create, to, errno))
        }
        // A file with several names carries the most sensitive of their folders' labels.
        raiseMoved(newParent, newName, caller: caller)
        replyNew(req, newParent, newName)
    }

    /// Raises the entry `name` of `parent` to its folder's label, and when it is a folder, every file below it.
    /// The path is built from the names walked: a file with several names may know itself by another one.
    func raiseMoved(_ parent: Inode, _ name: String, caller: Caller, path: [UInt8]? = nil) {
        let path = path ?? childPath(parent, name)
        guard case .success(let (node, st)) = entry(parent, name) else { return }
        defer { inodes.forget(node.ino, 1) }
        if (st.st_mode & S_IFMT) == S_IFREG { return raiseAfterMove(node, caller: caller, path: path) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return }
        for child in childNames(node) {
            raiseMoved(node, child, caller: caller, path: path + Array("/".utf8) + Array(child.utf8))
        }
    }

    /// The names in a folder, read through a descriptor of its own (never by path, never following a link).
    func childNames(_ dir: Inode) -> [String] {
        let fd = withDescriptor { openat(dir.fd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0, let d = fdopendir(fd) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = Glibc.readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." && !isHidden(dir, name) { names.append(name) }
        }
        return names
    }
}
