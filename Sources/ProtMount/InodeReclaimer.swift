import CFuse3
import Foundation
import Glibc
import ProtSystem
import Synchronization

/// Each inode the kernel caches holds one O_PATH descriptor in the daemon, and the kernel forgets inodes
/// only under memory pressure: a share with more files than the descriptor limit would run out. When the
/// table passes half the limit, this thread asks the kernel to drop the least recently used
/// entries (notify_inval_entry); the kernel then forgets the unused ones and their descriptors are closed.
/// It runs on its own thread because an invalidation takes the directory lock a request may hold.
/// Unchecked for `session`, a libfuse handle (not Sendable) whose notify calls are made to be thread-safe.
final class InodeReclaimer: @unchecked Sendable {
    private let session: OpaquePointer
    private let inodes: InodeTable
    private let high: Int
    private let low: Int
    /// Set by `stop` on the unmounting thread, read by the reclaimer's own thread.
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(session: OpaquePointer, inodes: InodeTable) {
        self.session = session
        self.inodes = inodes
        var rl = rlimit()
        let limit = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 ? Int(min(rl.rlim_cur, 1 << 30)) : 1024
        // Marks are set on what is left after the descriptors already open (ledger, FUSE, store).
        let free = limit - InheritedDescriptors.openCount()
        high = max(64, free / 2 - 128)
        low = max(32, free / 4 - 64)
        inodes.watch(pressureMark: high, overfullMark: (high + free) / 2) { [wake] in wake.signal() }
        let t = Thread { [self] in
            nameThisThread("protfs-reclaim"); run()
        }
        t.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        done.wait()
    }

    /// Called by a request that ran out of descriptors: reclaim now, give the kernel's forgets a moment.
    func relieve(ms: UInt32 = 20) {
        wake.signal()
        usleep(ms * 1000)
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            _ = wake.wait(timeout: .now() + .milliseconds(100))
            guard !stopping.load(ordering: .acquiring), inodes.count > high else { continue }
            for e in inodes.coldEntries(above: low) where !stopping.load(ordering: .relaxed) {
                _ = fuse_lowlevel_notify_inval_entry(session, e.parent, e.name, e.name.utf8.count)
            }
        }
        done.signal()
    }
}
