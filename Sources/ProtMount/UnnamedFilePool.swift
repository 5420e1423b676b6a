import Foundation
import Glibc
import ProtSystem
import Synchronization

/// Empty unnamed files (O_TMPFILE, mode 0600, owned by the daemon), made ahead of need on a thread of their
/// own, near the folder of the last create. Allocating an inode can take the backing filesystem most of a
/// millisecond (ext4 without a journal passes over every inode freed in the last minute, and an `rm -rf`
/// frees thousands): taken from here, a create does not wait for it. A file from the pool is unreachable until
/// the create gives it its owner, mode and header and links it under its name; unused ones vanish with the
/// daemon, as unnamed files do.
final class UnnamedFilePool: Sendable {
    static let capacity = 32
    private struct Pool {
        var ready: [(fd: Int32, dev: UInt64)] = []
        /// A descriptor (our own duplicate) of the folder to make files in, with its device and inode.
        var near: (fd: Int32, dev: UInt64, ino: UInt64)?
        var refilling = false
        /// Folder descriptors replaced while the refiller may be using one: it closes them between files.
        var retired: [Int32] = []
        /// When the daemon runs out of descriptors: the ready files are closed, and none are made for a while.
        var scarceUntil = Date.distantPast
    }
    private let pool = Mutex(Pool())
    private let wake = DispatchSemaphore(value: 0)

    init() {
        let t = Thread { [self] in
            nameThisThread("protfs-prealloc"); run()
        }
        t.start()
    }

    /// An empty unnamed file on `folder`'s device, or nil (the caller makes its own). Files made from now on
    /// are made in `folder`.
    func take(for folder: Inode) -> Int32? {
        let (fd, kick) = pool.withLock { p -> (Int32?, Bool) in
            if p.near?.ino != folder.backingIno || p.near?.dev != folder.dev {
                if let old = p.near { p.retired.append(old.fd) }
                let d = dup(folder.fd)
                p.near = d >= 0 ? (d, folder.dev, folder.backingIno) : nil
            }
            let fd = p.ready.lastIndex { $0.dev == folder.dev }.map { p.ready.remove(at: $0).fd }
            let kick = !p.refilling && p.ready.count < Self.capacity / 2 && Date() >= p.scarceUntil
            if kick { p.refilling = true }
            return (fd, kick)
        }
        if kick { wake.signal() }
        return fd
    }

    static let scarcePause: TimeInterval = 10

    func giveBack() {
        let fds = pool.withLock { p -> [Int32] in
            p.scarceUntil = Date() + Self.scarcePause
            defer { p.ready.removeAll() }
            return p.ready.map(\.fd)
        }
        for fd in fds { close(fd) }
    }

    private func run() {
        while true {
            wake.wait()
            while true {
                let (folder, old) = pool.withLock { p -> ((fd: Int32, dev: UInt64, ino: UInt64)?, [Int32]) in
                    let o = p.retired
                    p.retired.removeAll()
                    if p.ready.count >= Self.capacity || p.near == nil { p.refilling = false; return (nil, o) }
                    return (p.near, o)
                }
                for fd in old { close(fd) }
                guard let folder else { break }
                let fd = openat(folder.fd, ".", oTmpFile | O_RDWR | O_CLOEXEC, 0o600)
                guard fd >= 0 else { pool.withLock { $0.refilling = false }; break }
                pool.withLock { $0.ready.append((fd, folder.dev)) }
            }
        }
    }
}
