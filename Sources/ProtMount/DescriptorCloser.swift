import Foundation
import Glibc
import ProtSystem
import Synchronization

/// Closes the descriptors of forgotten inodes on a thread of its own. The last close of an unlinked file frees
/// it in the backing filesystem: slow, and from several request threads at once the frees contend on the
/// backing filesystem's allocation locks (during an `rm -rf` the forget handlers used more CPU than the
/// removals they followed). One thread keeps request threads free and the frees uncontended.
final class DescriptorCloser: Sendable {
    private let pending = Mutex<[Int32]>([])
    private let wake = DispatchSemaphore(value: 0)

    init() {
        let t = Thread { [self] in
            nameThisThread("protfs-close"); run()
        }
        t.start()
    }

    func close(_ fd: Int32) {
        let first = pending.withLock { p -> Bool in
            p.append(fd); return p.count == 1
        }
        if first { wake.signal() }
    }

    /// Closes what is waiting on the calling thread: for a request that ran out of descriptors, which must not
    /// wait for this thread to be scheduled.
    func drain() {
        while true {
            let batch = take()
            if batch.isEmpty { return }
            for fd in batch { Glibc.close(fd) }
        }
    }

    private func take() -> [Int32] {
        pending.withLock { p -> [Int32] in
            let b = p
            p.removeAll(keepingCapacity: true)
            return b
        }
    }

    private func run() {
        while true {
            wake.wait()
            drain()
        }
    }
}
