import Glibc
import ProtAccess
import ProtContainer
import ProtCrypto
import ProtPolicy

/// The decrypted view of one backing file, shared by all its open handles so that size and block writes
/// stay consistent. Opened read-write on a descriptor of its own.
final class OpenFile: @unchecked Sendable {
    let container: Container
    let fd: Int32
    var handles = 0

    init(fd: Int32, container: Container) { self.fd = fd; self.container = container }
    deinit { close(fd) }
}

/// One open() of a file: the rights granted at open are bound here, because writes that arrive through the
/// kernel's writeback path carry no caller. They are judged again when the header changes (`stillHolds`).
final class Handle: @unchecked Sendable {
    let inode: Inode
    let file: OpenFile
    let canRead: Bool
    let canWrite: Bool
    let caller: Caller
    let path: [UInt8]
    private let lock = PthreadMutex()
    /// Guarded by `lock`: the rights as last judged, the header generation and revocation epoch they were
    /// judged on, and when they stop holding (the next expiry of the label or a grant; nil for never). Nil
    /// until the first read or write judges them (`Filesystem.currentRights`), which also learns that expiry.
    private var judged: (generation: UInt64, epoch: UInt64, rights: Rights, until: Int64?)?
    /// Guarded by `lock`: the rights whose loss was logged (one row per handle, however often it retries).
    private var lossLogged: Rights = []
    private(set) var bytesRead: Int64 = 0
    private(set) var bytesWritten: Int64 = 0
    /// Streams what is written, in order, to the detectors; when writes are not a single sequential pass
    /// from offset 0 the whole file is scanned at release instead.
    private(set) var scanner: ContentScanner?
    private var scanEnd: UInt64 = 0

    init(inode: Inode, file: OpenFile, canRead: Bool, canWrite: Bool, caller: Caller, path: [UInt8],
         scanner: ContentScanner?) {
        self.inode = inode; self.file = file; self.canRead = canRead; self.canWrite = canWrite
        self.caller = caller; self.path = path; self.scanner = scanner
    }

    /// The rights judged on header `generation` and revocation `epoch`, still in force at `now`; nil otherwise.
    func rights(judgedOn generation: UInt64, epoch: UInt64, now: Int64) -> Rights? {
        lock.locked {
            guard let j = judged, j.generation == generation, j.epoch == epoch, j.until.map({ now < $0 }) ?? true else {
                return nil
            }
            return j.rights
        }
    }

    func rejudged(_ rights: Rights, on generation: UInt64, epoch: UInt64, until: Int64?) {
        lock.locked { judged = (generation, epoch, rights, until) }
    }

    /// True the first time the loss of `right` is reported on this handle.
    func firstLoss(of right: Rights) -> Bool {
        lock.locked {
            guard !lossLogged.isSuperset(of: right) else { return false }
            lossLogged.formUnion(right)
            return true
        }
    }

    func didRead(_ n: Int) { lock.locked { bytesRead += Int64(n) } }

    /// Feeds what was written at `offset` to the detectors, if it continues the sequential pass.
    func scan(_ data: UnsafeRawBufferPointer, at offset: UInt64) {
        lock.locked {
            guard let s = scanner else { return }
            if offset == scanEnd { s.feed(data); scanEnd += UInt64(data.count) } else { scanner = nil }
        }
    }

    var isScanning: Bool { lock.locked { scanner != nil } }

    /// After a failed write (which may have been scanned already): the file is scanned whole at release.
    func abandonScan() { lock.locked { scanner = nil } }

    func didWrite(_ n: Int) { lock.locked { bytesWritten += Int64(n) } }

    /// Past `writebackAfter` bytes written in order, each further `writebackChunk` is returned once (as a
    /// plaintext range) for the disk to start writing; a write out of order starts a new run.
    static let writebackAfter: UInt64 = 4 << 20
    static let writebackChunk: UInt64 = 1 << 20
    private var runStart: UInt64 = 0
    private var runEnd: UInt64 = 0
    private var writtenBack: UInt64 = 0

    func sequentialRunToWriteBack(offset: UInt64, count: Int) -> Range<UInt64>? {
        lock.locked {
            if offset != runEnd { runStart = offset; writtenBack = offset }
            runEnd = offset + UInt64(count)
            guard runEnd - runStart >= Self.writebackAfter, runEnd - writtenBack >= Self.writebackChunk else { return nil }
            defer { writtenBack = runEnd }
            return writtenBack..<runEnd
        }
    }

    /// Detector counts for what this handle wrote, if the stream covered the whole file.
    func streamedCounts(fileSize: UInt64) -> [String: Int]? {
        lock.locked {
            defer { scanner = nil }   // finished: any later pass rescans the whole file
            return (scanner != nil && scanEnd == fileSize) ? scanner!.finish() : nil
        }
    }

    private var classifiedAt: Int64 = 0
    /// True once per run of writes: the label is judged at the close (flush) that follows writes, so it is
    /// final when close(2) returns, and again at release for writes that came after the last flush.
    func takeUnclassifiedWrites() -> Bool {
        lock.locked {
            guard bytesWritten != classifiedAt else { return false }
            classifiedAt = bytesWritten
            return true
        }
    }
}

/// An open directory: a DIR stream over a descriptor of its own.
final class DirHandle: @unchecked Sendable {
    let dir: OpaquePointer
    let inode: Inode
    var offset: Int = 0
    let lock = PthreadMutex()
    init(dir: OpaquePointer, inode: Inode) { self.dir = dir; self.inode = inode }
    deinit { closedir(dir) }
}
