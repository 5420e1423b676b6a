import CFuse3
import CLinux
import Glibc
import ProtAccess
import ProtPolicy
import ProtLedger
import Foundation

/// Extended attributes: `user.protfs.label` is the file's label, read by anyone who can stat the file and
/// set (a relabel, value `LABEL` or `LABEL|justification`) by holders of `owner`. Other `user.` attributes
/// pass through. Only the `user.` namespace exists on the mount (as in gocryptfs): POSIX ACLs
/// (`system.posix_acl_*`) would not be enforced by the kernel here, and a default ACL stored on a backing
/// directory would hand other local users the ciphertext of every new file; `security.` and `trusted.`
/// values describe the backing file, not the protected content. So those namespaces are not supported:
/// reading or setting a name in them is EOPNOTSUPP, answered without touching the store. That is also what
/// `ls -l` needs to hear to stop asking (it remembers an unsupported device; an absent value would cost it two
/// round trips per file); the kernel takes it as no file capabilities before a write.
extension Filesystem {
    static func inUserNamespace(_ name: String) -> Bool { name.hasPrefix("user.") }

    static let labelXattr = "user.protfs.label"
    /// How the label was set (folder, auto, manual). Answered but not listed, so copies do not carry it.
    static let methodXattr = "user.protfs.method"

    func replyXattr(_ req: fuse_req_t?, _ bytes: [UInt8], _ size: Int) {
        if size == 0 { fuse_reply_xattr(req, bytes.count); return }
        guard bytes.count <= size else { return reply(req, ERANGE) }
        bytes.withUnsafeBytes {
            _ = fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
    }

    func getxattr(_ req: fuse_req_t?, _ ino: UInt64, _ name: String, _ size: Int) {
        guard Self.inUserNamespace(name) else { return reply(req, EOPNOTSUPP) }
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        if name == LedgerFlush.xattr && node === inodes.root {
            do { try ledger.flush() } catch { return reply(req, EIO) }
            return replyXattr(req, Array("committed".utf8), size)
        }
        // Share and revoke act when asked: a size probe must not act twice.
        if size == 0 && (name.hasPrefix(Self.sharePrefix) || name.hasPrefix(Self.revokePrefix)) {
            return reply(req, ERANGE)
        }
        if name.hasPrefix("user.protfs."), let answer = controlXattr(node, name, Caller(req)) {
            return replyXattr(req, answer, size)
        }
        if name == Self.labelXattr || name == Self.methodXattr {
            guard node.isRegular else { return reply(req, ENODATA) }
            do {
                guard let f = try header(of: node) else { return reply(req, ENODATA) }
                return replyXattr(req, Array((name == Self.labelXattr ? f.labelId : f.method.description).utf8), size)
            } catch { return reply(req, integrityFailure(nil, path: sharePath(node), label: nil, error)) }
        }
        guard node.isRegular || node.isDirectory else { return reply(req, ENOTSUP) }
        // A protected file's own attributes are part of its content: reading them needs `view`.
        if let e = judge(node, Caller(req), .getxattr(name)) { return reply(req, e) }
        var buf = [UInt8](repeating: 0, count: max(size, 1))
        let n = CLinux.getxattr(node.procPath, name, &buf, size)
        guard n >= 0 else { return reply(req, errno) }
        if size == 0 { fuse_reply_xattr(req, n) } else { replyXattr(req, Array(buf.prefix(n)), size) }
    }

    func listxattr(_ req: fuse_req_t?, _ ino: UInt64, _ size: Int) {
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        var names: [UInt8] = []
        if node.isRegular || node.isDirectory {
            let n = CLinux.listxattr(node.procPath, nil, 0)
            if n > 0 {
                var buf = [CChar](repeating: 0, count: n)
                let m = CLinux.listxattr(node.procPath, &buf, n)
                if m > 0 {
                    for stored in buf.prefix(m).split(separator: 0)
                    where stored.starts(with: Array("user.".utf8CString.dropLast())) {
                        names += stored.map { UInt8(bitPattern: $0) } + [0]
                    }
                }
            }
        }
        if node.isRegular { names += Array(Self.labelXattr.utf8) + [0] }
        replyXattr(req, names, size)
    }

    func setxattr(_ req: fuse_req_t?, _ ino: UInt64, _ name: String, _ value: UnsafeRawBufferPointer, _ flags: Int32) {
        guard Self.inUserNamespace(name) else { return reply(req, EOPNOTSUPP) }
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        let caller = Caller(req)
        if name == Self.labelXattr {
            guard node.isRegular else { return reply(req, ENOTSUP) }
            let text = String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let parts = text.split(separator: "|", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard let label = parts.first, !label.isEmpty else { return reply(req, EINVAL) }
            return reply(
                req, manualRelabel(node, to: label, justification: parts.count > 1 ? parts[1] : nil, caller: caller))
        }
        // The rest of protfs's namespace is answered by the daemon (method, share and revoke requests, the
        // recipient list): a stored value there could never be read back, so none is stored.
        if name.hasPrefix("user.protfs.") { return reply(req, EPERM) }
        guard node.isRegular || node.isDirectory else { return reply(req, ENOTSUP) }
        if let e = judge(node, caller, .setxattr(name)) { return reply(req, e) }
        guard CLinux.setxattr(node.procPath, name, value.baseAddress, value.count, flags) == 0 else {
            return reply(req, failedAfterRow(caller, .setxattr, sharePath(node), errno))
        }
        reply(req, 0)
    }

    func removexattr(_ req: fuse_req_t?, _ ino: UInt64, _ name: String) {
        guard Self.inUserNamespace(name) else { return reply(req, EOPNOTSUPP) }
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        if name == Self.labelXattr || name == Self.methodXattr { return reply(req, EPERM) }
        guard node.isRegular || node.isDirectory else { return reply(req, ENOTSUP) }
        let caller = Caller(req)
        if let e = judge(node, caller, .removexattr(name)) { return reply(req, e) }
        guard CLinux.removexattr(node.procPath, name) == 0 else {
            return reply(req, failedAfterRow(caller, .setxattr, sharePath(node), errno))
        }
        reply(req, 0)
    }

    /// Decides an attribute operation on `node` and commits its row: nil when it may go ahead, otherwise
    /// the errno to return.
    func judge(_ node: Inode, _ caller: Caller, _ op: Action) -> Int32? {
        let subject: Subject
        do { subject = try self.subject(node) } catch {
            return integrityFailure(caller, path: sharePath(node), label: nil, error)
        }
        return commit(decide(caller, op, on: subject, path: sharePath(node)))
    }
}
