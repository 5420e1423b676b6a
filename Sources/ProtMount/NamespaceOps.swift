import CFuse3
import Glibc
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

    func replyNew(_ req: fuse_req_t?, _ parent: Inode, _ name: String) {
        switch entry(parent, name) {
        case .success(let (node, st)): replyEntry(req, node, st)
        case .failure(let e): reply(req, e.code)
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
            case .failure(let e): return reply(req, e.code)
            }
        }
        guard newEntryPath(parent, name) != nil else { return reply(req, ENAMETOOLONG) }
        guard mknodat(parent.fd, name, mode, rdev) == 0 else { return reply(req, errno) }
        chownToCaller(parent, name, caller)
        setRequestedMode(parent, name, mode)
        _ = record(caller.event(.create, .allowed, path: childPath(parent, name),
                                detail: "special file, mode \(String(mode, radix: 8))"))
        replyNew(req, parent, name)
    }

    func mkdir(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String, _ mode: mode_t) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        guard newEntryPath(parent, name) != nil else { return reply(req, ENAMETOOLONG) }
        let caller = Caller(req)
        guard mkdirat(parent.fd, name, mode) == 0 else { return reply(req, errno) }
        chownToCaller(parent, name, caller)
        setRequestedMode(parent, name, mode)
        let made = childPath(parent, name)
        let label = store.policy.folderLabel(for: Self.text(made)).label
        _ = record(caller.event(.mkdir, .allowed, path: made, label: label))
        replyNew(req, parent, name)
    }

    func symlink(_ req: fuse_req_t?, _ target: String, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        guard newEntryPath(parent, name) != nil else { return reply(req, ENAMETOOLONG) }
        let caller = Caller(req)
        guard symlinkat(target, parent.fd, name) == 0 else { return reply(req, errno) }
        chownToCaller(parent, name, caller)
        _ = record(caller.event(.create, .allowed, path: childPath(parent, name), detail: "symlink"))
        replyNew(req, parent, name)
    }

    /// The label of a child and the caller's rights on it, if it is a container.
    func childRights(_ parent: Inode, _ name: String, _ caller: Caller) throws -> (label: String, rights: Rights)? {
        guard case .success(let (node, _)) = entry(parent, name) else { return nil }
        defer { inodes.forget(node.ino, 1) }
        guard let f = try header(of: node) else { return nil }
        return (f.labelId, store.rights(of: caller.identity, header: f))
    }

    func unlink(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        let caller = Caller(req)
        let path = childPath(parent, name)
        var label: String?
        do {
            if let (l, rights) = try childRights(parent, name, caller) {
                label = l
                guard rights.contains(.edit) else { return reply(req, deny(caller, .unlink, path: path, label: l, needed: .edit, had: rights)) }
            }
        } catch { return reply(req, integrityFailure(caller, path: path, label: nil, error)) }
        // The row first: a ledger that cannot take it refuses the removal (it answered 0 after a failed row).
        guard record(caller.event(.unlink, .allowed, path: path, label: label)) else { return reply(req, EIO) }
        guard unlinkat(parent.fd, name, 0) == 0 else { return reply(req, failedAfterRow(caller, .unlink, path, errno)) }
        reply(req, 0)
    }

    /// The row of an operation logged as allowed whose syscall then failed, so the ledger does not claim it
    /// happened. Returns `e`.
    func failedAfterRow(_ caller: Caller, _ kind: EventKind, _ path: [UInt8], _ e: Int32,
                        newPath: [UInt8]? = nil) -> Int32 {
        _ = record(caller.event(kind, .error, path: path, newPath: newPath,
                                detail: "not done: \(String(cString: strerror(e)))"))
        return e
    }

    func rmdir(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) { return reply(req, EPERM) }
        let caller = Caller(req)
        let path = childPath(parent, name)
        guard record(caller.event(.rmdir, .allowed, path: path)) else { return reply(req, EIO) }
        guard unlinkat(parent.fd, name, AT_REMOVEDIR) == 0 else {
            return reply(req, failedAfterRow(caller, .rmdir, path, errno))
        }
        reply(req, 0)
    }

    func rename(_ req: fuse_req_t?, _ parentIno: UInt64, _ name: String, _ newParentIno: UInt64, _ newName: String, _ flags: UInt32) {
        guard let parent = inodes.get(parentIno), let newParent = inodes.get(newParentIno) else { return reply(req, ENOENT) }
        if isHidden(parent, name) || isHidden(newParent, newName) { return reply(req, EPERM) }
        guard flags & ~UInt32(RENAME_NOREPLACE | RENAME_EXCHANGE) == 0 else { return reply(req, EINVAL) }
        let caller = Caller(req)
        let from = childPath(parent, name)
        guard let to = newEntryPath(newParent, newName) else { return reply(req, ENAMETOOLONG) }
        var label: String?
        do {
            // Moving a file needs edit on it; replacing (or exchanging with) an existing file needs edit on that one too.
            if let (l, rights) = try childRights(parent, name, caller) {
                label = l
                guard rights.contains(.edit) else { return reply(req, deny(caller, .rename, path: from, label: l, needed: .edit, had: rights, newPath: to)) }
            }
            // Moving into another folder is creating there: edit on that folder's label, as for a new file. An
            // exchange moves the other entry the other way, so it meets the first folder's rule too.
            if parent !== newParent {
                if let e = folderRefusal(caller, .rename, into: to, from: from) { return reply(req, e) }
                if flags & UInt32(RENAME_EXCHANGE) != 0, let e = folderRefusal(caller, .rename, into: from, from: to) {
                    return reply(req, e)
                }
            }
            if flags & UInt32(RENAME_NOREPLACE) == 0, let (l, rights) = try childRights(newParent, newName, caller), !rights.contains(.edit) {
                return reply(req, deny(caller, .rename, path: to, label: l, needed: .edit, had: rights))
            }
        } catch { return reply(req, integrityFailure(caller, path: from, label: nil, error)) }
        guard record(caller.event(.rename, .allowed, path: from, newPath: to, label: label)) else {
            return reply(req, EIO)
        }
        let renamed = protfs_renameat2(parent.fd, name, newParent.fd, newName, flags) == 0
        let e = errno
        inodes.withLock { inodes.renameGeneration += 1 }
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
        if node.isRegular {
            do {
                if let f = try header(of: node) {
                    let rights = store.rights(of: caller.identity, header: f)
                    guard rights.contains(.edit) else { return reply(req, deny(caller, .create, path: path, label: f.labelId, needed: .edit, had: rights)) }
                }
            } catch { return reply(req, integrityFailure(caller, path: path, label: nil, error)) }
        }
        // A new name is a file coming to live in that folder: the folder's rule, as for a create or a move.
        guard let to = newEntryPath(newParent, newName) else { return reply(req, ENAMETOOLONG) }
        if let e = folderRefusal(caller, .create, into: to, from: path) { return reply(req, e) }
        guard linkat(AT_FDCWD, node.procPath, newParent.fd, newName, AT_SYMLINK_FOLLOW) == 0 else { return reply(req, errno) }
        _ = record(caller.event(.create, .allowed, path: to, detail: "hard link to \(Self.text(path))"))
        // A file with several names carries the most sensitive of their folders' labels.
        raiseMoved(newParent, newName, caller: caller)
        replyNew(req, newParent, newName)
    }

    /// The refusal (logged) when the caller may not bring an entry into the folder of `into`: `edit` on that
    /// folder's label, judged without the `owner` grant, as for a new file. Nil when allowed.
    func folderRefusal(_ caller: Caller, _ kind: EventKind, into: [UInt8], from: [UInt8]) -> Int32? {
        let target = store.policy.folderLabel(for: Self.text(into)).label
        let granted = store.policy.rights(of: caller.identity, label: target, fileOwner: nil)
        guard !granted.contains(.edit) else { return nil }
        return deny(caller, kind, path: from, label: target, needed: .edit, had: granted, newPath: into)
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
