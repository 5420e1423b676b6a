import Foundation
import CFuse3
import Glibc
import ProtCrypto

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
        var done = 0
        var doneBytes: UInt64 = 0
        var directories: [TreeEntry] = []
        for e in entries {
            guard String(validating: e.path, as: UTF8.self) != nil else { fail(e, "name is not UTF-8 (skipped)"); continue }
            let dst = destination + "/" + e.text
            switch e.kind {
            case .directory:
                if mkdir(dst, 0o700) != 0 && errno != EEXIST { fail(e, "mkdir: \(String(cString: strerror(errno)))"); continue }
                directories.append(e)
            case .file:
                importFile(e, to: dst)
                done += 1; doneBytes += UInt64(e.st.st_size)
                progress(done, doneBytes)
            case .symlink: importSymlink(e, to: dst)
            case .other: fail(e, "not a regular file, directory or symlink (skipped)")
            }
        }
        // Directory metadata last: their times change while children are added, and a closed mode could lock
        // the import out of its own folders.
        for d in directories.reversed() {
            let dst = destination + "/" + d.text
            removeLeftovers(in: dst)
            // Through a descriptor opened one name at a time: a folder swapped for a link after the walk (by a
            // user who owns it, while root imports) must not have another folder's attributes copied in.
            let fd = TreeWalk.openBeneath(source, d.path, O_RDONLY | O_DIRECTORY)
            var now = stat()
            if fd >= 0, fstat(fd, &now) == 0, now.st_dev == d.st.st_dev, now.st_ino == d.st.st_ino {
                copyXattrs(srcFd: fd, to: dst, entry: d)
            } else {
                fail(d, "changed since the walk (attributes not copied)")
            }
            if fd >= 0 { close(fd) }
            applyOwnership(d, at: dst)
            setTimes(d.st, at: dst)
        }
        removeLeftovers(in: destination)
        totals.directories = directories.count
    }

    private func importFile(_ e: TreeEntry, to dst: String) {
        let srcPath = source + "/" + e.text
        // O_NONBLOCK: a FIFO swapped in after the walk must not hang the import (it is refused just below).
        let fd = TreeWalk.openBeneath(source, e.path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return fail(e, "unreadable: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return fail(e, String(cString: strerror(errno))) }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_ino == e.st.st_ino, st.st_dev == e.st.st_dev else {
            return fail(e, "changed since the walk (not the file that was listed); skipped")
        }
        var existing = stat()
        if lstat(dst, &existing) == 0, existing.st_mode & S_IFMT == S_IFREG, existing.st_size == st.st_size,
           existing.st_mtim.tv_sec == st.st_mtim.tv_sec, existing.st_mtim.tv_nsec == st.st_mtim.tv_nsec {
            // Complete from an earlier run (the name appears only after content and times): metadata only.
            applyOwnership(TreeEntry(path: e.path, kind: .file, st: st), at: dst)
            totals.alreadyImported += 1
            return
        }
        let dir = (dst as NSString).deletingLastPathComponent
        let temp = dir + "/" + Self.tempName(for: (dst as NSString).lastPathComponent)
        let out = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { return fail(e, "create in \(dir): \(String(cString: strerror(errno)))") }
        var problem: String?
        copy: while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; problem = "read: \(String(cString: strerror(errno)))"; break }
            if n == 0 { break }
            var off = 0
            while off < n {
                let w = buffer.withUnsafeBytes { write(out, $0.baseAddress! + off, n - off) }
                if w < 0 { if errno == EINTR { continue }; problem = "write: \(String(cString: strerror(errno)))"; break copy }
                off += w
            }
        }
        if close(out) != 0 && problem == nil { problem = "close: \(String(cString: strerror(errno)))" }
        if let problem { unlink(temp); return fail(e, problem) }
        // Through the open descriptor, not the path: the path may lead elsewhere by now.
        copyXattrs(srcFd: fd, to: temp, entry: e)
        setTimes(st, at: temp)
        guard rename(temp, dst) == 0 else { let m = String(cString: strerror(errno)); unlink(temp); return fail(e, "rename into place: \(m)") }
        applyOwnership(TreeEntry(path: e.path, kind: .file, st: st), at: dst)
        totals.files += 1
        totals.bytes += UInt64(st.st_size)
        if let label = Self.xattr(dst, "user.protfs.label") { totals.labels[label, default: 0] += 1 }
        if Self.xattr(dst, "user.protfs.method") == "auto" { totals.raised += 1 }
    }

    /// The link is read in its folder, opened one name at a time (never by a path a swapped folder could
    /// redirect), and only if it is still the link the walk saw.
    private func importSymlink(_ e: TreeEntry, to dst: String) {
        let names = e.path.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init)
        guard let name = names.last else { return fail(e, "unreadable symlink") }
        let parentRel = Array(e.path.prefix(max(0, e.path.count - name.count - 1)))
        let parent = parentRel.isEmpty ? open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            : TreeWalk.openBeneath(source, parentRel, O_RDONLY | O_DIRECTORY)
        guard parent >= 0 else { return fail(e, "unreadable symlink: \(String(cString: strerror(errno)))") }
        defer { close(parent) }
        var now = stat()
        guard name.withCString({ fstatat(parent, $0, &now, AT_SYMLINK_NOFOLLOW) }) == 0, now.st_mode & S_IFMT == S_IFLNK,
              now.st_dev == e.st.st_dev, now.st_ino == e.st.st_ino else { return fail(e, "changed since the walk (skipped)") }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = name.withCString { readlinkat(parent, $0, &buf, buf.count - 1) }
        guard n >= 0 else { return fail(e, "unreadable symlink: \(String(cString: strerror(errno)))") }
        let target = String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var st = stat()
        if name.withCString({ fstatat(parent, $0, &st, 0) }) != 0 { Out.warn("import: \(e.text): dangling symlink (copied as a link)") }
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: dst)) == target {
            totals.alreadyImported += 1
        } else {
            unlink(dst)
            guard symlink(target, dst) == 0 else { return fail(e, "symlink: \(String(cString: strerror(errno)))") }
            totals.symlinks += 1
        }
        if preserveOwner { lchown(dst, e.st.st_uid, e.st.st_gid) }
    }

    /// Mode, then owner (root only): handing the file to its owner may end the importer's own rights on it.
    private func applyOwnership(_ e: TreeEntry, at dst: String) {
        var cur = stat()
        guard lstat(dst, &cur) == 0 else { return }
        if cur.st_mode & 0o7777 != e.st.st_mode & 0o7777, chmod(dst, e.st.st_mode & 0o7777) != 0 {
            fail(e, "chmod: \(String(cString: strerror(errno)))")
        }
        if preserveOwner, cur.st_uid != e.st.st_uid || cur.st_gid != e.st.st_gid, lchown(dst, e.st.st_uid, e.st.st_gid) != 0 {
            fail(e, "chown: \(String(cString: strerror(errno)))")
        }
    }

    private func setTimes(_ st: stat, at dst: String) {
        let ts = [st.st_atim, st.st_mtim]
        utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW)
    }

    /// Extended attributes except protfs' own (the label is decided by the destination's policy), copied from
    /// the open `srcFd`, never from a path.
    private func copyXattrs(srcFd: Int32, to dst: String, entry: TreeEntry) {
        func list(_ buf: UnsafeMutablePointer<CChar>?, _ n: Int) -> Int { flistxattr(srcFd, buf, n) }
        func get(_ name: String, _ buf: UnsafeMutableRawPointer?, _ n: Int) -> Int { fgetxattr(srcFd, name, buf, n) }
        let size = list(nil, 0)
        guard size > 0 else { return }
        var names = [CChar](repeating: 0, count: size)
        let got = list(&names, size)
        guard got > 0 else { return }
        for raw in names.prefix(got).split(separator: 0) {
            let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if name.hasPrefix("user.protfs.") { continue }
            let n = get(name, nil, 0)
            guard n >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: max(n, 1))
            let m = get(name, &value, n)
            guard m >= 0 else { continue }
            if lsetxattr(dst, name, value, m, 0) != 0, name.hasPrefix("user.") {
                fail(entry, "xattr \(name): \(String(cString: strerror(errno)))")
            }
        }
    }

    private func removeLeftovers(in dir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for n in names where n.hasPrefix(Self.tempPrefix) { unlink(dir + "/" + n) }
    }

    private func fail(_ e: TreeEntry, _ message: String) {
        totals.errors.append("\(e.text): \(message)")
        Out.warn("import: \(e.text): \(message)")
    }

    /// A fixed-length name, so a 255-byte file name still has a temporary one.
    static func tempName(for name: String) -> String {
        tempPrefix + Hex.encode(Array(Digest.sha256(Array(name.utf8)).prefix(8)))
    }

    static func xattr(_ path: String, _ name: String) -> String? {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = getxattr(path, name, &buf, buf.count)
        return n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self) : nil
    }
}
