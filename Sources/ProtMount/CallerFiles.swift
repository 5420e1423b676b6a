import CFuse3
import CLinux
import Glibc
import ProtAccess
import ProtSystem

/// Descriptors the process behind a request holds open. `protfs share` hands the daemon its request and the file
/// for the portable copy this way. The daemon takes the caller's very descriptor (pidfd_getfd) and checks that
/// one: it never resolves a path on the caller's behalf, so nothing can be swapped in between the check and the
/// use (reopening /proc/PID/fd/N by path lost that race to a thread swapping descriptors), and it never opens
/// anything, so a FIFO cannot block a worker.
enum CallerFiles {
    enum Access { case read, write }

    /// Why a caller's descriptor is refused, for the answer the caller reads.
    enum Refusal: Error, CustomStringConvertible {
        case notHeld, wrongAccess, notRegular, onFuse
        var description: String {
            switch self {
            case .notHeld: return "the descriptor is not one the calling process holds"
            case .wrongAccess: return "the descriptor is not open for the access needed (O_PATH descriptors never are)"
            case .notRegular: return "the descriptor is not a regular file"
            case .onFuse: return "the descriptor is on a FUSE filesystem (the daemon would wait on itself)"
            }
        }
    }

    static let fuseMagic = 0x6573_5546

    /// A duplicate of descriptor `fd` of the caller, checked: a regular file outside any FUSE mount, opened by the
    /// caller for `access`. The caller closes it.
    static func take(pid: Int32, uid: UInt32, fd: Int32, _ access: Access) -> Result<Int32, Refusal> {
        guard fd >= 0, pid > 0 else { return .failure(.notHeld) }
        // The request's pid is the thread's; PIDFD_THREAD (O_EXCL) names a thread that leads no group.
        var pidfd = protfs_pidfd_open(pid, 0)
        if pidfd < 0 && errno == EINVAL { pidfd = protfs_pidfd_open(pid, UInt32(O_EXCL)) }
        guard pidfd >= 0 else { return .failure(.notHeld) }
        defer { close(pidfd) }
        // The pidfd pins the process; a pid reused by another user's process before it was opened is refused here.
        guard ownedBy(pid: pid, uid: uid) else { return .failure(.notHeld) }
        let mine = protfs_pidfd_getfd(pidfd, fd)
        guard mine >= 0 else { return .failure(.notHeld) }
        if let refusal = check(mine, access) { close(mine); return .failure(refusal) }
        return .success(mine)
    }

    /// Checks a taken descriptor: its open flags, its type, its filesystem.
    static func check(_ fd: Int32, _ access: Access) -> Refusal? {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, flags & oPath == 0 else { return .wrongAccess }
        let mode = flags & O_ACCMODE
        switch access {
        case .read: guard mode == O_RDONLY || mode == O_RDWR else { return .wrongAccess }
        case .write: guard mode == O_WRONLY || mode == O_RDWR else { return .wrongAccess }
        }
        var st = stat(), fs = statfs()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return .notRegular }
        guard fstatfs(fd, &fs) == 0, fs.f_type != fuseMagic else { return .onFuse }
        return nil
    }

    /// The process's real and effective uid are both the request's uid.
    static func ownedBy(pid: Int32, uid: UInt32) -> Bool {
        guard let status = Caller.readProc(pid, "status", limit: 16384) else { return false }
        let text = String(decoding: status, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return false }
        let ids = line.dropFirst(4).split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { UInt32($0) }
        return ids.count >= 2 && ids[0] == uid && ids[1] == uid
    }

    /// The whole content of a small file held by the caller, read without moving the caller's offset.
    static func read(pid: Int32, uid: UInt32, fd: Int32, limit: Int) -> Result<[UInt8], Refusal> {
        let mine: Int32
        switch take(pid: pid, uid: uid, fd: fd, .read) {
        case .success(let d): mine = d
        case .failure(let r): return .failure(r)
        }
        defer { close(mine) }
        var buf = [UInt8](repeating: 0, count: limit + 1)
        var got = 0
        while got < buf.count {
            let n = buf.withUnsafeMutableBytes { b in
                retryingInterrupts { pread(mine, b.baseAddress! + got, b.count - got, off_t(got)) }
            }
            if n <= 0 { break }
            got += n
        }
        return got <= limit ? .success(Array(buf.prefix(got))) : .failure(.notRegular)
    }
}
