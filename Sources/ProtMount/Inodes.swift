import CFuse3
import Glibc
import ProtContainer
import ProtSystem
import Synchronization

/// A file or directory the kernel knows by inode number. It holds an oPath descriptor of the backing file,
/// so operations use *at() calls and renames need no path bookkeeping (the passthrough_ll design).
final class Inode: Sendable {
    let ino: UInt64
    let fd: Int32
    let dev: UInt64
    let backingIno: UInt64
    let isDirectory: Bool
    let isRegular: Bool
    /// What changes. Lock order: the table's lock, then an inode's; never the other way round.
    let state: Mutex<InodeState>
    /// The table's tick when it was last used: a hint for the reclaimer, so no lock (relaxed).
    let lastUsed = Atomic<UInt64>(0)

    init(ino: UInt64, fd: Int32, st: stat) {
        self.ino = ino; self.fd = fd; dev = UInt64(st.st_dev); backingIno = UInt64(st.st_ino)
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
        state = Mutex(InodeState())
    }

    /// `/proc/self/fd/N`: a path to the backing file for calls that take no descriptor.
    var procPath: String { "/proc/self/fd/\(fd)" }
}

/// The mutable part of an inode, owned by its lock (`Inode.state`).
struct InodeState {
    var nlookup: UInt64 = 0
    /// Where the kernel last found it: for asking the kernel to drop cold entries.
    var parent: UInt64 = 0
    var name = ""
    /// The reclaimer asked the kernel to drop this entry and its forget has not come yet. Without this the
    /// next pass picked the same least recently used entries again (measured: 189 of 192 answered ENOENT,
    /// already dropped) and spent passes on them while `ls -l` went on filling the table.
    var reclaimAsked = false
    /// Its path in the share, valid while no rename has happened since (`InodeTable.renameGeneration`).
    var cachedPath: (generation: UInt64, path: [UInt8])?
    /// The decrypted view shared by every open handle of this file (one size, one writer lock), and how
    /// many handles (and in-daemon uses, `withOpenFile`) hold it.
    var open: OpenFile?
    var openCount = 0
    /// Bumped each time the shared view is dropped: a view read without the lock is installed only if none
    /// came and went meanwhile.
    var viewEpoch: UInt64 = 0
    /// The header as this daemon last authenticated or wrote it, for unlink, rename, setattr and xattr
    /// decisions (content access always reopens and authenticates). Only the daemon changes headers, so a
    /// write to the content does not stale it; a header changed behind its back (tampering) keeps being
    /// judged by the label it had, the safer of the two.
    var cachedHeader: HeaderFields?
}

/// Inode numbers handed to the kernel, with lookup counts so `forget` can release them.
final class InodeTable: Sendable {
    private struct Table {
        var byIno: [UInt64: Inode] = [:]
        var byBacking: [BackingKey: Inode] = [:]
        var next: UInt64 = 2
        var tick: UInt64 = 0
        /// Past this many inodes, `onPressure` is called (the reclaimer's wake-up)...
        var pressureMark = Int.max
        /// ...and past this many, new entries pause for the reclaimer (`Filesystem.entry`).
        var overfullMark = Int.max
        var onPressure: (@Sendable () -> Void)?
    }
    private let table = Mutex(Table())
    private let closer = DescriptorCloser()
    /// Bumped by every rename: cached paths older than this are read again.
    let renameGeneration = Atomic<UInt64>(0)

    struct BackingKey: Hashable { let dev: UInt64; let ino: UInt64 }

    let root: Inode

    init(rootFD: Int32) throws {
        var st = stat()
        guard fstat(rootFD, &st) == 0 else { throw MountError.system("stat store root", .current) }
        let root = Inode(ino: UInt64(FUSE_ROOT_ID), fd: rootFD, st: st)
        root.state.withLock { $0.nlookup = 1 << 40 }
        self.root = root
        table.withLock { t in
            t.byIno[root.ino] = root
            t.byBacking[BackingKey(dev: root.dev, ino: root.backingIno)] = root
        }
    }

    /// Called once by the reclaimer, before the loop's threads start.
    func watch(pressureMark: Int, overfullMark: Int, onPressure: @escaping @Sendable () -> Void) {
        table.withLock { t in
            t.pressureMark = pressureMark; t.overfullMark = overfullMark; t.onPressure = onPressure
        }
    }

    func get(_ ino: UInt64) -> Inode? {
        table.withLock { t in
            guard let node = t.byIno[ino] else { return nil }
            t.tick += 1
            node.lastUsed.store(t.tick, ordering: .relaxed)
            return node
        }
    }

    var count: Int { table.withLock { $0.byIno.count } }

    /// The inode number the kernel knows a backing file by, if it knows it.
    func known(_ st: stat) -> UInt64? {
        table.withLock { $0.byBacking[BackingKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))]?.ino }
    }
    /// Past the pressure mark: new entries should wait for a lookup of their own (see `readdir`).
    var crowded: Bool { table.withLock { $0.byIno.count > $0.pressureMark } }
    var overfull: Bool { table.withLock { $0.byIno.count > $0.overfullMark } }

    /// Finds or adds the inode for a backing file just opened with oPath as `name` in `parent`, counting one
    /// lookup. Takes ownership of `fd` (closes it when the inode already exists).
    func adopt(fd: Int32, st: stat, parent: UInt64, name: String) -> Inode {
        let (node, pressed) = table.withLock { t -> (Inode, (@Sendable () -> Void)?) in
            t.tick += 1
            let key = BackingKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            if let existing = t.byBacking[key] {
                close(fd)
                existing.state.withLock { s in
                    s.nlookup += 1; s.parent = parent; s.name = name; s.reclaimAsked = false
                }
                existing.lastUsed.store(t.tick, ordering: .relaxed)
                return (existing, nil)
            }
            let node = Inode(ino: t.next, fd: fd, st: st)
            t.next += 1
            node.state.withLock { s in
                s.nlookup = 1; s.parent = parent; s.name = name
            }
            node.lastUsed.store(t.tick, ordering: .relaxed)
            t.byIno[node.ino] = node
            t.byBacking[key] = node
            return (node, t.byIno.count > t.pressureMark ? t.onPressure : nil)
        }
        pressed?()  // a semaphore signal: outside the lock all the same
        return node
    }

    /// The least recently used entries without open files, enough to bring the table down to `target`, not
    /// counting those already asked for; each returned is marked asked until the kernel looks it up again.
    func coldEntries(above target: Int) -> [(parent: UInt64, name: String)] {
        table.withLock { t in
            let all = Array(t.byIno.values)
            let states = all.map { n in n.state.withLock { ($0.reclaimAsked, $0.open == nil, $0.parent, $0.name) } }
            let pending = states.lazy.filter { $0.0 }.count
            guard all.count - pending > target else { return [] }
            let idle = zip(all, states).filter { n, s in n !== root && s.1 && !s.3.isEmpty && !s.0 }
            let cold = idle.sorted { $0.0.lastUsed.load(ordering: .relaxed) < $1.0.lastUsed.load(ordering: .relaxed) }
                .prefix(all.count - pending - target)
            for (node, _) in cold { node.state.withLock { $0.reclaimAsked = true } }
            return cold.map { ($0.1.2, $0.1.3) }
        }
    }

    func forget(_ ino: UInt64, _ n: UInt64) {
        let unused: Int32? = table.withLock { t in
            guard let node = t.byIno[ino], node !== root else { return nil }
            let gone = node.state.withLock { s in
                s.nlookup = s.nlookup >= n ? s.nlookup - n : 0
                return s.nlookup == 0 && s.open == nil
            }
            guard gone else { return nil }
            t.byIno[ino] = nil
            t.byBacking[BackingKey(dev: node.dev, ino: node.backingIno)] = nil
            return node.fd
        }
        // Not under the lock, nor on this request thread: the last close of an unlinked file frees it in the
        // backing filesystem (see DescriptorCloser).
        if let unused { closer.close(unused) }
    }

    /// Closes the descriptors of forgotten inodes now, on the calling thread (see `DescriptorCloser.drain`).
    func closeForgotten() { closer.drain() }
}

enum MountError: Error, CustomStringConvertible {
    case system(String, Errno)
    case usage(String)
    var description: String {
        switch self {
        case .system(let what, let e): return "\(what): \(e)"
        case .usage(let m): return m
        }
    }
}

// Linux flags that glibc declares only under _GNU_SOURCE (which the C module must not define).
let oPath: Int32 = 0o10000000  // O_PATH
let atEmptyPath: Int32 = 0x1000  // AT_EMPTY_PATH
let oTmpFile: Int32 = 0o20200000  // O_TMPFILE (includes O_DIRECTORY)
