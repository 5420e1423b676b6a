import CLinux
import Foundation
import Glibc

// Linux flags glibc declares only under _GNU_SOURCE.
private let oPath: Int32 = 0o10000000  // O_PATH
private let atEmptyPath: Int32 = 0x1000  // AT_EMPTY_PATH
import ProtCrypto
import ProtSystem

/// Copies a tree into a protfs mount so every file is labeled and encrypted by the mount as usual.
/// Each file is written under a hidden temporary name in its destination folder and renamed into place only
/// when its content, xattrs and times are complete, so an interrupted import never leaves a short file under
/// the real name. A file whose destination already has the same size and mtime is taken as imported.
final class Importer {
    struct Totals {
        var files = 0, alreadyImported = 0, directories = 0, symlinks = 0, raised = 0
        var bytes: UInt64 = 0
        var labels: [String: Int] = [:]
        var errors: [String] = []
    }

    static let tempPrefix = ".protfs-import."
    let source: String
    let destination: String
    let preserveOwner = geteuid() == 0
    private(set) var totals = Totals()
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)

    init(source: String, destination: String) { self.source = source; self.destination = destination }

    func run(_ entries: [TreeEntry], progress: (Int, UInt64) -> Void) {
        // Everything in the destination is reached from this descriptor one name at a time, never following a
        // link: a user who can write in a destination folder could otherwise swap a folder for a link and have
        // root's import chmod, create or unlink files anywhere on the host.
        let base = open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard base >= 0 else {
            return fail(TreeEntry(path: [], kind: .directory, st: stat()), "cannot open \(destination)")
        }
        defer { close(base) }
        // The source is reached the same way, from one descriptor of its root.
        let src = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard src >= 0 else {
            return fail(TreeEntry(path: [], kind: .directory, st: stat()), "cannot open \(source)")
        }
        defer { close(src) }
        var done = 0
        var doneBytes: UInt64 = 0
        var directories: [TreeEntry] = []
        for e in entries {
            guard String(validating: e.path, as: UTF8.self) != nil else {
                fail(e, "name is not UTF-8 (skipped)"); continue
            }
            guard let (parent, name) = Self.parent(of: e.path, in: base) else {
                fail(e, "its folder in the destination is missing or not a folder: \(String(cString: strerror(errno)))")
                continue
            }
            defer { close(parent) }
            switch e.kind {
            case .directory:
                if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST {
                    fail(e, "mkdir: \(String(cString: strerror(errno)))"); continue
                }
                directories.append(e)
            case .file:
                importFile(e, from: src, parent: parent, name: name)
                done += 1; doneBytes += UInt64(e.st.st_size)
                progress(done, doneBytes)
            case .symlink: importSymlink(e, from: src, parent: parent, name: name)
            case .other: fail(e, "not a regular file, directory or symlink (skipped)")
            }
        }
        // Directory metadata last: their times change while children are added, and a closed mode could lock
        // the import out of its own folders.
        for d in directories.reversed() {
            let out = TreeWalk.openBeneath(base, d.path, O_RDONLY | O_DIRECTORY)
            guard out >= 0 else { fail(d, "the destination folder is not a folder any more (skipped)"); continue }
            defer { close(out) }
            removeLeftovers(in: out)
            // Through a descriptor opened one name at a time: a folder swapped for a link after the walk (by a
            // user who owns it, while root imports) must not have another folder's attributes copied in.
            let fd = TreeWalk.openBeneath(src, d.path, O_RDONLY | O_DIRECTORY)
            var now = stat()
            if fd >= 0, fstat(fd, &now) == 0, now.st_dev == d.st.st_dev, now.st_ino == d.st.st_ino {
                copyXattrs(srcFd: fd, to: out, entry: d)
            } else {
                fail(d, "changed since the walk (attributes not copied)")
            }
            if fd >= 0 { close(fd) }
            applyOwnership(d, fd: out)
            let ts = [d.st.st_atim, d.st.st_mtim]
            futimens(out, ts)
        }
        removeLeftovers(in: base)
        totals.directories = directories.count
    }

    /// The folder of `rel` below `base` (opened one name at a time, no links) and the last name; for the
    /// destination and the source alike.
    static func parent(of rel: [UInt8], in base: Int32) -> (Int32, String)? {
        let names = rel.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init)
        guard let last = names.last else { errno = EINVAL; return nil }
        let parentRel = Array(rel.prefix(max(0, rel.count - last.count - 1)))
        let fd =
            parentRel.isEmpty
            ? fcntl(base, F_DUPFD_CLOEXEC, 0)
            : TreeWalk.openBeneath(base, parentRel, O_RDONLY | O_DIRECTORY)
        return fd >= 0 ? (fd, String(decoding: last, as: UTF8.self)) : nil
    }

    private func importFile(_ e: TreeEntry, from src: Int32, parent: Int32, name: String) {
        // O_NONBLOCK: a FIFO swapped in after the walk must not hang the import (it is refused just below).
        let fd = TreeWalk.openBeneath(src, e.path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return fail(e, "unreadable: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return fail(e, String(cString: strerror(errno))) }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_ino == e.st.st_ino, st.st_dev == e.st.st_dev else {
            return fail(e, "changed since the walk (not the file that was listed); skipped")
        }
        var existing = stat()
        if fstatat(parent, name, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_mode & S_IFMT == S_IFREG,
            existing.st_size == st.st_size,
            existing.st_mtim.tv_sec == st.st_mtim.tv_sec, existing.st_mtim.tv_nsec == st.st_mtim.tv_nsec
        {
            // Complete from an earlier run (the name appears only after content and times): metadata only.
            applyOwnership(TreeEntry(path: e.path, kind: .file, st: st), parent: parent, name: name)
            totals.alreadyImported += 1
            return
        }
        let temp = Self.tempName(for: name)
        let out = openat(parent, temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { return fail(e, "create: \(String(cString: strerror(errno)))") }
        var problem: String?
        copy: while true {
            let n = buffer.withUnsafeMutableBytes { b in retryingInterrupts { read(fd, b.baseAddress, b.count) } }
            if n < 0 { problem = "read: \(Errno.current)"; break }
            if n == 0 { break }
            if case .failure(let e) = buffer.withUnsafeBytes({
                writeAll(out, UnsafeRawBufferPointer(rebasing: $0[..<n]))
            }) {
                problem = "write: \(e)"; break copy
            }
        }
        // Attributes from the source's descriptor to the copy's, not by either path.
        if problem == nil { copyXattrs(srcFd: fd, to: out, entry: e) }
        if close(out) != 0 && problem == nil { problem = "close: \(String(cString: strerror(errno)))" }
        if let problem { unlinkat(parent, temp, 0); return fail(e, problem) }
        let ts = [st.st_atim, st.st_mtim]
        utimensat(parent, temp, ts, AT_SYMLINK_NOFOLLOW)
        guard renameat(parent, temp, parent, name) == 0 else {
            let m = String(cString: strerror(errno))
            unlinkat(parent, temp, 0)
            return fail(e, "rename into place: \(m)")
        }
        applyOwnership(TreeEntry(path: e.path, kind: .file, st: st), parent: parent, name: name)
        totals.files += 1
        totals.bytes += UInt64(st.st_size)
        if let label = Self.xattr(parent, name, "user.protfs.label") { totals.labels[label, default: 0] += 1 }
        if Self.xattr(parent, name, "user.protfs.method") == "auto" { totals.raised += 1 }
    }

    /// The link is read in its folder, opened one name at a time (never by a path a swapped folder could
    /// redirect), and only if it is still the link the walk saw; it is made in its destination folder the same way.
    private func importSymlink(_ e: TreeEntry, from src: Int32, parent out: Int32, name outName: String) {
        guard let (parent, name) = Self.parent(of: e.path, in: src) else {
            return fail(e, "unreadable symlink: \(String(cString: strerror(errno)))")
        }
        defer { close(parent) }
        var now = stat()
        guard name.withCString({ fstatat(parent, $0, &now, AT_SYMLINK_NOFOLLOW) }) == 0,
            now.st_mode & S_IFMT == S_IFLNK, now.st_dev == e.st.st_dev, now.st_ino == e.st.st_ino
        else {
            return fail(e, "changed since the walk (skipped)")
        }
        guard let target = Self.readLink(parent, Array(name.utf8)) else {
            return fail(e, "unreadable symlink: \(String(cString: strerror(errno)))")
        }
        var st = stat()
        if name.withCString({ fstatat(parent, $0, &st, 0) }) != 0 {
            Out.warn("import: \(e.text): dangling symlink (copied as a link)")
        }
        if Self.readLink(out, Array(outName.utf8)) == target {
            totals.alreadyImported += 1
        } else {
            unlinkat(out, outName, 0)
            guard symlinkat(target, out, outName) == 0 else {
                return fail(e, "symlink: \(String(cString: strerror(errno)))")
            }
            totals.symlinks += 1
        }
        if preserveOwner { fchownat(out, outName, e.st.st_uid, e.st.st_gid, AT_SYMLINK_NOFOLLOW) }
    }

    static func readLink(_ dir: Int32, _ name: [UInt8]) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = name.withCString { readlinkat(dir, $0, &buf, buf.count - 1) }
        return n >= 0 ? String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// Mode, then owner (root only), of the entry `name` in `parent`, through a descriptor of that very entry:
    /// a link swapped in there is not followed (it is skipped). Handing the file to its owner may end the
    /// importer's own rights on it, hence the order.
    private func applyOwnership(_ e: TreeEntry, parent: Int32, name: String) {
        let fd = openat(parent, name, oPath | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return fail(e, "gone before its mode was set") }
        defer { close(fd) }
        var cur = stat()
        guard fstat(fd, &cur) == 0, cur.st_mode & S_IFMT == e.st.st_mode & S_IFMT else {
            return fail(e, "replaced before its mode was set (skipped)")
        }
        if cur.st_mode & 0o7777 != e.st.st_mode & 0o7777, chmod("/proc/self/fd/\(fd)", e.st.st_mode & 0o7777) != 0 {
            fail(e, "chmod: \(String(cString: strerror(errno)))")
        }
        if preserveOwner, cur.st_uid != e.st.st_uid || cur.st_gid != e.st.st_gid,
            fchownat(fd, "", e.st.st_uid, e.st.st_gid, atEmptyPath) != 0
        {
            fail(e, "chown: \(String(cString: strerror(errno)))")
        }
    }

    /// The same for a folder already open.
    private func applyOwnership(_ e: TreeEntry, fd: Int32) {
        var cur = stat()
        guard fstat(fd, &cur) == 0 else { return }
        if cur.st_mode & 0o7777 != e.st.st_mode & 0o7777, fchmod(fd, e.st.st_mode & 0o7777) != 0 {
            fail(e, "chmod: \(String(cString: strerror(errno)))")
        }
        if preserveOwner, cur.st_uid != e.st.st_uid || cur.st_gid != e.st.st_gid,
            fchown(fd, e.st.st_uid, e.st.st_gid) != 0
        {
            fail(e, "chown: \(String(cString: strerror(errno)))")
        }
    }

    /// Extended attributes except protfs' own (the label is decided by the destination's policy), copied from
    /// the open `srcFd` to the open `dst`, never by a path.
    private func copyXattrs(srcFd: Int32, to dst: Int32, entry: TreeEntry) {
        let size = flistxattr(srcFd, nil, 0)
        guard size > 0 else { return }
        var names = [CChar](repeating: 0, count: size)
        let got = flistxattr(srcFd, &names, size)
        guard got > 0 else { return }
        for raw in names.prefix(got).split(separator: 0) {
            let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if name.hasPrefix("user.protfs.") { continue }
            let n = fgetxattr(srcFd, name, nil, 0)
            guard n >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: max(n, 1))
            let m = fgetxattr(srcFd, name, &value, n)
            guard m >= 0 else { continue }
            if fsetxattr(dst, name, value, m, 0) != 0, name.hasPrefix("user.") {
                fail(entry, "xattr \(name): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Removes temporary files of an interrupted run from the open folder `dir`.
    private func removeLeftovers(in dir: Int32) {
        let copy = fcntl(dir, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let stream = fdopendir(copy) else { if copy >= 0 { close(copy) }; return }
        defer { closedir(stream) }
        var leftovers: [String] = []
        while let ent = readdir(stream) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(Self.tempPrefix) { leftovers.append(name) }
        }
        for n in leftovers { unlinkat(dir, n, 0) }
    }

    private func fail(_ e: TreeEntry, _ message: String) {
        totals.errors.append("\(e.text): \(message)")
        Out.warn("import: \(e.text): \(message)")
    }

    /// A fixed-length name, so a 255-byte file name still has a temporary one.
    static func tempName(for name: String) -> String {
        tempPrefix + Hex.encode(Array(Digest.sha256(Array(name.utf8)).prefix(8)))
    }

    /// A protfs attribute of the entry `name` in `parent` (a regular file), read through its own descriptor.
    static func xattr(_ parent: Int32, _ name: String, _ attribute: String) -> String? {
        let fd = openat(parent, name, oPath | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = getxattr("/proc/self/fd/\(fd)", attribute, &buf, buf.count)
        return n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self) : nil
    }
}
