import CFuse3
import Glibc
import ProtContainer
import ProtCrypto

/// A file or directory the kernel knows by inode number. It holds an oPath descriptor of the backing file,
/// so operations use *at() calls and renames need no path bookkeeping (the passthrough_ll design).
final class Inode: @unchecked Sendable {
    let ino: UInt64
    let fd: Int32
    let dev: UInt64
    let backingIno: UInt64
    let isDirectory: Bool
    let isRegular: Bool
    var nlookup: UInt64 = 0
    /// Where the kernel last found it, and when it was last used: for asking the kernel to drop cold entries.
    var parent: UInt64 = 0
    var name = ""
    var lastUsed: UInt64 = 0
    /// The reclaimer asked the kernel to drop this entry and its forget has not come yet. Without this the
    /// next pass picked the same least recently used entries again (measured: 189 of 192 answered ENOENT,
    /// already dropped) and spent passes on them while `ls -l` went on filling the table.
    var reclaimAsked = false
    /// Its path in the share, valid while no rename has happened since (`InodeTable.renameGeneration`).
    var cachedPath: (generation: UInt64, path: [UInt8])?
    /// The decrypted view shared by every open handle of this file (one size, one writer lock).
    var open: OpenFile?
    /// Bumped each time the shared view is dropped: a view read without the lock is installed only if none
    /// came and went meanwhile.
    var viewEpoch: UInt64 = 0
    /// The header as this daemon last authenticated or wrote it, for unlink, rename, setattr and xattr
    /// decisions (content access always reopens and authenticates). Only the daemon changes headers, so a
    /// write to the content does not stale it; a header changed behind its back (tampering) keeps being
    /// judged by the label it had, the safer of the two.
    var cachedHeader: HeaderFields?

    init(ino: UInt64, fd: Int32, st: stat) {
        self.ino = ino; self.fd = fd; dev = UInt64(st.st_dev); backingIno = UInt64(st.st_ino)
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
    }

    /// `/proc/self/fd/N`: a path to the backing file for calls that take no descriptor.
    var procPath: String { "/proc/self/fd/\(fd)" }
}

/// Inode numbers handed to the kernel, with lookup counts so `forget` can release them.
final class InodeTable: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var byIno: [UInt64: Inode] = [:]
    private var byBacking: [BackingKey: Inode] = [:]
    private var next: UInt64 = 2
    private var tick: UInt64 = 0
    private let closer = DescriptorCloser()
    /// Bumped by every rename (under the table lock): cached paths older than this are re-read.
    var renameGeneration: UInt64 = 0
    /// Past this many inodes, `onPressure` is called (the reclaimer's wake-up).
    var pressureMark = Int.max
    var onPressure: (() -> Void)?

    struct BackingKey: Hashable { let dev: UInt64; let ino: UInt64 }

    let root: Inode

    init(rootFD: Int32) throws {
        var st = stat()
        guard fstat(rootFD, &st) == 0 else { throw MountError.errno("stat store root", errno) }
        root = Inode(ino: UInt64(FUSE_ROOT_ID), fd: rootFD, st: st)
        root.nlookup = 1 << 40
        byIno[root.ino] = root
        byBacking[BackingKey(dev: root.dev, ino: root.backingIno)] = root
    }

    func get(_ ino: UInt64) -> Inode? {
        lock.locked {
            guard let node = byIno[ino] else { return nil }
            tick += 1
            node.lastUsed = tick
            return node
        }
    }

    var count: Int { lock.locked { byIno.count } }

    /// The inode number the kernel knows a backing file by, if it knows it.
    func known(_ st: stat) -> UInt64? {
        lock.locked { byBacking[BackingKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))]?.ino }
    }
    /// Past the pressure mark: new entries should wait for a lookup of their own (see `readdir`).
    var crowded: Bool { lock.locked { byIno.count > pressureMark } }
    /// Past this many, new entries pause for the reclaimer (`Filesystem.entry`).
    var overfullMark = Int.max
    var overfull: Bool { lock.locked { byIno.count > overfullMark } }

    /// Finds or adds the inode for a backing file just opened with oPath as `name` in `parent`, counting one
    /// lookup. Takes ownership of `fd` (closes it when the inode already exists).
    func adopt(fd: Int32, st: stat, parent: UInt64, name: String) -> Inode {
        lock.locked {
            tick += 1
            let key = BackingKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            if let existing = byBacking[key] {
                close(fd)
                existing.nlookup += 1
                existing.parent = parent; existing.name = name; existing.lastUsed = tick
                existing.reclaimAsked = false
                return existing
            }
            let node = Inode(ino: next, fd: fd, st: st)
            next += 1
            node.nlookup = 1
            node.parent = parent; node.name = name; node.lastUsed = tick
            byIno[node.ino] = node
            byBacking[key] = node
            if byIno.count > pressureMark { onPressure?() }
            return node
        }
    }

    /// The least recently used entries without open files, enough to bring the table down to `target`, not
    /// counting those already asked for; each returned is marked asked until the kernel looks it up again.
    func coldEntries(above target: Int) -> [(parent: UInt64, name: String)] {
        lock.locked {
            let pending = byIno.values.lazy.filter { $0.reclaimAsked }.count
            guard byIno.count - pending > target else { return [] }
            let idle = byIno.values.filter { $0 !== root && $0.open == nil && !$0.name.isEmpty && !$0.reclaimAsked }
            let cold = idle.sorted { $0.lastUsed < $1.lastUsed }.prefix(byIno.count - pending - target)
            for node in cold { node.reclaimAsked = true }
            return cold.map { ($0.parent, $0.name) }
        }
    }

    func forget(_ ino: UInt64, _ n: UInt64) {
        let unused: Int32? = lock.locked {
            guard let node = byIno[ino], node !== root else { return nil }
            node.nlookup = node.nlookup >= n ? node.nlookup - n : 0
            guard node.nlookup == 0 && node.open == nil else { return nil }
            byIno[ino] = nil
            byBacking[BackingKey(dev: node.dev, ino: node.backingIno)] = nil
            return node.fd
        }
        // Not under the lock, nor on this request thread: the last close of an unlinked file frees it in the
        // backing filesystem (see DescriptorCloser).
        if let unused { closer.close(unused) }
    }

    /// Closes the descriptors of forgotten inodes now, on the calling thread (see `DescriptorCloser.drain`).
    func closeForgotten() { closer.drain() }

    /// Runs `body` under the table lock (for the per-inode shared open state).
    func withLock<R>(_ body: () throws -> R) rethrows -> R { try lock.locked(body) }
}

enum MountError: Error, CustomStringConvertible {
    case errno(String, Int32)
    case usage(String)
    var description: String {
        switch self {
        case .errno(let what, let e): return "\(what): \(String(cString: strerror(e)))"
        case .usage(let m): return m
        }
    }
}

// Linux flags that glibc declares only under _GNU_SOURCE (which the C module must not define).
let oPath: Int32 = 0o10000000        // O_PATH
let atEmptyPath: Int32 = 0x1000      // AT_EMPTY_PATH
let oTmpFile: Int32 = 0o20200000     // O_TMPFILE (includes O_DIRECTORY)
