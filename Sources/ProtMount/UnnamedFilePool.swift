import Foundation
import Glibc
import ProtCrypto
import ProtSystem

/// Empty unnamed files (O_TMPFILE, mode 0600, owned by the daemon), made ahead of need on a thread of their
/// own, near the folder of the last create. Allocating an inode can take the backing filesystem most of a
/// millisecond (ext4 without a journal passes over every inode freed in the last minute, and an `rm -rf`
/// frees thousands): taken from here, a create does not wait for it. A file from the pool is unreachable until
/// the create gives it its owner, mode and header and links it under its name; unused ones vanish with the
/// daemon, as unnamed files do.
final class UnnamedFilePool: @unchecked Sendable {
    static let capacity = 32
    private let lock = PthreadMutex()
    private var ready: [(fd: Int32, dev: UInt64)] = []
    /// A descriptor (our own duplicate) of the folder to make files in, with its device and inode.
    private var near: (fd: Int32, dev: UInt64, ino: UInt64)?
    private var refilling = false
    private let wake = DispatchSemaphore(value: 0)

    init() {
        let t = Thread { [self] in nameThisThread("protfs-prealloc"); run() }
        t.start()
    }

    /// An empty unnamed file on `folder`'s device, or nil (the caller makes its own). Files made from now on
    /// are made in `folder`.
    func take(for folder: Inode) -> Int32? {
        let (fd, kick) = lock.locked { () -> (Int32?, Bool) in
            if near?.ino != folder.backingIno || near?.dev != folder.dev {
                if let old = near { retired.append(old.fd) }
                let d = dup(folder.fd)
                near = d >= 0 ? (d, folder.dev, folder.backingIno) : nil
            }
            let fd = ready.lastIndex { $0.dev == folder.dev }.map { ready.remove(at: $0).fd }
            let kick = !refilling && ready.count < Self.capacity / 2 && Date() >= scarceUntil
            if kick { refilling = true }
            return (fd, kick)
        }
        if kick { wake.signal() }
        return fd
    }

    /// Folder descriptors replaced while the refiller may be using one: it closes them between files.
    private var retired: [Int32] = []

    /// When the daemon runs out of descriptors: the ready files are closed, and none are made for a while.
    static let scarcePause: TimeInterval = 10
    private var scarceUntil = Date.distantPast

    func giveBack() {
        let fds = lock.locked { () -> [Int32] in
            scarceUntil = Date() + Self.scarcePause
            defer { ready.removeAll() }
            return ready.map(\.fd)
        }
        for fd in fds { close(fd) }
    }

    private func run() {
        while true {
            wake.wait()
            while true {
                let (folder, old) = lock.locked { () -> ((fd: Int32, dev: UInt64, ino: UInt64)?, [Int32]) in
                    let o = retired
                    retired.removeAll()
                    if ready.count >= Self.capacity || near == nil { refilling = false; return (nil, o) }
                    return (near, o)
                }
                for fd in old { close(fd) }
                guard let folder else { break }
                let fd = openat(folder.fd, ".", oTmpFile | O_RDWR | O_CLOEXEC, 0o600)
                guard fd >= 0 else { lock.locked { refilling = false }; break }
                lock.locked { ready.append((fd, folder.dev)) }
            }
        }
    }
}
