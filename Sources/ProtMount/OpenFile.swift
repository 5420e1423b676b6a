import Glibc
import ProtAccess
import ProtContainer
import ProtPolicy
import ProtSystem
import Synchronization

/// The decrypted view of one backing file, shared by all its open handles so that size and block writes
/// stay consistent. Opened read-write on a descriptor of its own.
final class OpenFile: Sendable {
    let container: Container
    let fd: Int32

    init(fd: Int32, container: Container) { self.fd = fd; self.container = container }
    deinit { close(fd) }
}

/// One open() of a file: the rights granted at open are bound here, because writes that arrive through the
/// kernel's writeback path carry no caller. They are judged again when the header changes (`stillHolds`).
final class Handle: Sendable {
    let inode: Inode
    let file: OpenFile
    let canRead: Bool
    let canWrite: Bool
    let caller: Caller
    let path: [UInt8]
    /// Everything that changes, owned by one lock: the handle's requests may run on several threads.
    private let state: Mutex<HandleState>

    /// `scanning`: the detectors to stream the writes through (nil when the file is scanned at release).
    init(
        inode: Inode, file: OpenFile, canRead: Bool, canWrite: Bool, caller: Caller, path: [UInt8],
        scanning detectors: DetectorSet?
    ) {
        self.inode = inode; self.file = file; self.canRead = canRead; self.canWrite = canWrite
        self.caller = caller; self.path = path
        state = Mutex(HandleState(scanner: detectors.map { ContentScanner($0) }))
    }

    /// The rights judged on header `generation` and revocation `epoch`, still in force at `now`; nil otherwise.
    func rights(judgedOn generation: UInt64, epoch: UInt64, now: Int64) -> Rights? {
        state.withLock { s in
            guard let j = s.judged, j.generation == generation, j.epoch == epoch, j.until.map({ now < $0 }) ?? true
            else { return nil }
            return j.rights
        }
    }

    func rejudged(_ rights: Rights, on generation: UInt64, epoch: UInt64, until: Int64?) {
        state.withLock { $0.judged = (generation, epoch, rights, until) }
    }

    /// True the first time the loss of `right` is reported on this handle.
    func firstLoss(of right: Rights) -> Bool {
        state.withLock { s in
            guard !s.lossLogged.isSuperset(of: right) else { return false }
            s.lossLogged.formUnion(right)
            return true
        }
    }

    var bytesRead: Int64 { state.withLock { $0.bytesRead } }
    var bytesWritten: Int64 { state.withLock { $0.bytesWritten } }
    func didRead(_ n: Int) { state.withLock { $0.bytesRead += Int64(n) } }
    func didWrite(_ n: Int) { state.withLock { $0.bytesWritten += Int64(n) } }

    /// Feeds what was written at `offset` to the detectors, if it continues the sequential pass.
    func scan(_ data: UnsafeRawBufferPointer, at offset: UInt64) {
        // The request's bytes, only read and only during this call (its buffer outlives it), cross into the
        // lock by address: the checker cannot see that the detectors' state keeps no reference to them.
        let address = UInt(bitPattern: data.baseAddress), count = data.count
        state.withLock { s in
            guard let scanner = s.scanner else { return }
            guard offset == s.scanEnd else { s.scanner = nil; return }
            scanner.feed(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: count))
            s.scanEnd += UInt64(count)
        }
    }

    var isScanning: Bool { state.withLock { $0.scanner != nil } }

    /// After a failed write (which may have been scanned already): the file is scanned whole at release.
    func abandonScan() { state.withLock { $0.scanner = nil } }

    /// Past `writebackAfter` bytes written in order, each further `writebackChunk` is returned once (as a
    /// plaintext range) for the disk to start writing; a write out of order starts a new run.
    static let writebackAfter: UInt64 = 4 << 20
    static let writebackChunk: UInt64 = 1 << 20

    func sequentialRunToWriteBack(offset: UInt64, count: Int) -> Range<UInt64>? {
        state.withLock { s in
            if offset != s.runEnd { s.runStart = offset; s.writtenBack = offset }
            s.runEnd = offset + UInt64(count)
            guard s.runEnd - s.runStart >= Self.writebackAfter, s.runEnd - s.writtenBack >= Self.writebackChunk
            else { return nil }
            defer { s.writtenBack = s.runEnd }
            return s.writtenBack..<s.runEnd
        }
    }

    /// Detector counts for what this handle wrote, if the stream covered the whole file.
    func streamedCounts(fileSize: UInt64) -> [String: Int]? {
        state.withLock { s in
            defer { s.scanner = nil }  // finished: any later pass rescans the whole file
            return (s.scanner != nil && s.scanEnd == fileSize) ? s.scanner!.finish() : nil
        }
    }

    /// True once per run of writes: the label is judged at the close (flush) that follows writes, so it is
    /// final when close(2) returns, and again at release for writes that came after the last flush.
    func takeUnclassifiedWrites() -> Bool {
        state.withLock { s in
            guard s.bytesWritten != s.classifiedAt else { return false }
            s.classifiedAt = s.bytesWritten
            return true
        }
    }
}

/// The mutable part of a handle (owned by `Handle.state`).
struct HandleState {
    /// The rights as last judged, the header generation and revocation epoch they were judged on, and when
    /// they stop holding (the next expiry of the label or a grant; nil for never). Nil until the first read
    /// or write judges them (`Filesystem.currentRights`), which also learns that expiry.
    var judged: (generation: UInt64, epoch: UInt64, rights: Rights, until: Int64?)?
    /// The rights whose loss was logged (one row per handle, however often it retries).
    var lossLogged: Rights = []
    var bytesRead: Int64 = 0
    var bytesWritten: Int64 = 0
    var classifiedAt: Int64 = 0
    /// Streams what is written, in order, to the detectors; when writes are not a single sequential pass
    /// from offset 0 the whole file is scanned at release instead.
    var scanner: ContentScanner?
    var scanEnd: UInt64 = 0
    /// The sequential run of writes the disk is asked to start writing back.
    var runStart: UInt64 = 0
    var runEnd: UInt64 = 0
    var writtenBack: UInt64 = 0
}

/// An open directory: a DIR stream over a descriptor of its own, read by one request at a time.
final class DirHandle: Sendable {
    let inode: Inode
    let stream: Mutex<DirStream>
    init(dir: OpaquePointer, inode: Inode) { stream = Mutex(DirStream(dir: dir)); self.inode = inode }
    deinit { stream.withLock { _ = closedir($0.dir) } }
}

/// A DIR stream and where in it the last readdir ended. Unchecked: a DIR pointer is not Sendable, and this
/// one is only ever used under its handle's lock (`DirHandle.stream`), which is what makes it safe.
struct DirStream: @unchecked Sendable {
    let dir: OpaquePointer
    var offset = 0
}
