import Glibc
import ProtContainer
import ProtSystem
import Synchronization

/// Headers this daemon authenticated, by backing inode, kept past the kernel forgetting the inode (after a
/// cache drop, or for a share larger than the inode cache). An entry counts only while the backing file's
/// change time and size are what they were when it was read: every write to a container changes them.
/// It lets an open decide rights and commit its ledger row while the disk is still reading the file; the
/// open then authenticates the header as before and decides again if it differs.
final class HeaderCache: Sendable {
    struct Key: Hashable { let dev: UInt64; let ino: UInt64 }
    struct Stamp: Equatable { let sec: Int; let nsec: Int; let size: Int }
    static let capacity = 32_768

    private let entries = Mutex<[Key: (stamp: Stamp, fields: HeaderFields)]>([:])

    static func stamp(_ st: stat) -> (Key, Stamp) {
        (
            Key(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)),
            Stamp(sec: st.st_ctim.tv_sec, nsec: st.st_ctim.tv_nsec, size: st.st_size)
        )
    }

    /// Records `fields` as the header of the file open on `fd`, as it is now.
    func remember(_ fields: HeaderFields, fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return }
        let (key, stamp) = Self.stamp(st)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (stamp, fields)
        }
    }

    /// The header of the file `st` describes, if it has not changed since it was remembered.
    func recall(_ st: stat) -> HeaderFields? {
        let (key, stamp) = Self.stamp(st)
        return entries.withLock { $0[key].flatMap { $0.stamp == stamp ? $0.fields : nil } }
    }
}
