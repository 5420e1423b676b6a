import Foundation
import Glibc

/// One entry of a walked tree. Paths are raw bytes relative to the root: names need not be UTF-8.
struct TreeEntry {
    enum Kind { case directory, file, symlink, other }
    var path: [UInt8]
    var kind: Kind
    var st: stat
    var text: String { String(decoding: path, as: UTF8.self) }
}

/// Walks a tree without following symlinks (they are entries of their own, never descended into or
/// read through), directories before their contents, names in byte order so runs are reproducible.
/// Problems (an unreadable directory) go to `warn` and the walk goes on.
struct TreeWalk {
    let root: String
    var skipRootNames: Set<[UInt8]> = []

    func entries(warn: (String) -> Void) -> [TreeEntry] {
        var out: [TreeEntry] = []
        let fd = open(root, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { warn("\(root): \(String(cString: strerror(errno)))"); return out }
        walk(dirFd: fd, prefix: [], into: &out, warn: warn)
        return out
    }

    private func walk(dirFd: Int32, prefix: [UInt8], into out: inout [TreeEntry], warn: (String) -> Void) {
        guard let dir = fdopendir(dirFd) else { close(dirFd); return }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            if prefix.isEmpty && skipRootNames.contains(name) { continue }
            names.append(name)
        }
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let rel = prefix.isEmpty ? name : prefix + [0x2F] + name
            var st = stat()
            let ok = name.withCString { fstatat(dirfd(dir), $0, &st, AT_SYMLINK_NOFOLLOW) }
            guard ok == 0 else {
                warn("\(String(decoding: rel, as: UTF8.self)): \(String(cString: strerror(errno)))"); continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                out.append(TreeEntry(path: rel, kind: .directory, st: st))
                let sub = name.withCString { openat(dirfd(dir), $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }
                if sub < 0 {
                    warn("\(String(decoding: rel, as: UTF8.self)): \(String(cString: strerror(errno)))"); continue
                }
                walk(dirFd: sub, prefix: rel, into: &out, warn: warn)
            case S_IFREG: out.append(TreeEntry(path: rel, kind: .file, st: st))
            case S_IFLNK: out.append(TreeEntry(path: rel, kind: .symlink, st: st))
            default: out.append(TreeEntry(path: rel, kind: .other, st: st))
            }
        }
    }
}

extension TreeWalk {
    /// Opens `rel` below the open folder `base` (which stays open) one name at a time, never following a symlink
    /// at any level: a folder swapped for a link after the walk (by a user who owns it, while root imports)
    /// cannot lead the open outside the tree.
    static func openBeneath(_ base: Int32, _ rel: [UInt8], _ flags: Int32) -> Int32 {
        var dir = fcntl(base, F_DUPFD_CLOEXEC, 0)
        guard dir >= 0 else { return -1 }
        let names = rel.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init)
        guard let last = names.last else { close(dir); errno = EINVAL; return -1 }
        for name in names.dropLast() {
            let next = name.withCString { openat(dir, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            let e = errno
            close(dir)
            guard next >= 0 else { errno = e; return -1 }
            dir = next
        }
        let fd = last.withCString { openat(dir, $0, flags | O_NOFOLLOW | O_CLOEXEC) }
        let e = errno
        close(dir)
        errno = e
        return fd
    }
}

extension Array where Element == UInt8 {
    /// A NUL-terminated copy for C calls.
    func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try (self + [0]).withUnsafeBufferPointer {
            try body(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self))
        }
    }
}
