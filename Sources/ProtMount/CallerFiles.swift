import CFuse3
import Glibc

/// Descriptors of the process behind a request, reopened through /proc. `protfs share` hands the daemon its
/// request and the file for the portable copy this way: the daemon never opens a path on a user's behalf,
/// only what that process already holds open, with the access mode it was opened with.
enum CallerFiles {
    enum Access { case read, write }

    static func open(pid: Int32, fd: Int32, _ access: Access) -> Int32? {
        guard fd >= 0, let info = Caller.readProc(pid, "fdinfo/\(fd)", limit: 4096) else { return nil }
        let text = String(decoding: info, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
              let flags = Int32(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) else { return nil }
        let mode = flags & O_ACCMODE
        switch access {
        case .read: guard mode == O_RDONLY || mode == O_RDWR else { return nil }
        case .write: guard mode == O_WRONLY || mode == O_RDWR else { return nil }
        }
        let mine = Glibc.open("/proc/\(pid)/fd/\(fd)", (access == .read ? O_RDONLY : O_WRONLY) | O_CLOEXEC | O_NOCTTY)
        guard mine >= 0 else { return nil }
        var st = stat(), fs = statfs()
        // Only regular files, and none on a FUSE filesystem (this daemon would be writing through itself).
        guard fstat(mine, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, fstatfs(mine, &fs) == 0, fs.f_type != 0x65735546 else {
            close(mine); return nil
        }
        return mine
    }

    /// The whole content of a small file held by the caller.
    static func read(pid: Int32, fd: Int32, limit: Int) -> [UInt8]? {
        guard let mine = open(pid: pid, fd: fd, .read) else { return nil }
        defer { close(mine) }
        var buf = [UInt8](repeating: 0, count: limit + 1)
        var got = 0
        while got < buf.count {
            let n = buf.withUnsafeMutableBytes { pread(mine, $0.baseAddress! + got, $0.count - got, off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        return got <= limit ? Array(buf.prefix(got)) : nil
    }
}
