import CFuse3
import CLinux
import Dispatch
import Glibc
import ProtAccess
import ProtContainer
import ProtLedger
import ProtPolicy
import ProtStore
import ProtSystem

extension Filesystem {
    /// Creates a labeled container for a new file: checks `edit` on the folder's label (judged without the
    /// creator's `owner` grant), creates it owned by the caller, logs the row. On failure, the errno to return.
    func newContainer(_ parent: Inode, _ name: String, _ mode: mode_t, _ caller: Caller) -> Result<
        (fd: Int32, container: Container, path: [UInt8]), Errno
    > {
        if isHidden(parent, name) { return .failure(Errno(EPERM)) }
        guard let path = newEntryPath(parent, name) else { return .failure(Errno(ENAMETOOLONG)) }
        let decision = decide(caller, .create, path: path)
        let allowed: Allowed
        switch decision {
        case .failure(let refused): _ = record(refused.row); return .failure(Errno(refused.errno))
        case .success(let a): allowed = a
        }
        guard let row = allowed.row, let label = row.label else { return .failure(.io) }
        // A row the create must wait for is committed by the ledger's writer while the container is built here;
        // the creator gets no handle before it is committed. A create that then fails says so in a second row.
        var pending: PendingAppend?
        if allowed.waits {
            switch startRow(decision) {
            case .success(let p): pending = p
            case .failure(let e): return .failure(e)
            }
        }
        var waited = false
        func undone(_ e: Int32) -> Result<(fd: Int32, container: Container, path: [UInt8]), Errno> {
            if let pending, !waited, (try? pending.wait()) != nil {
                recordCreateUndone(caller, path, label: label, e)
            }
            return .failure(Errno(e))
        }
        // The container is written whole into an unnamed file, then linked under its name: a crash never
        // leaves a name without a header. Where O_TMPFILE is not supported, it is created in place.
        let unnamed =
            unnamedFiles.take(for: parent)
            ?? withDescriptor { openat(parent.fd, ".", oTmpFile | O_RDWR, mode & 0o7777) }
        let fd =
            unnamed >= 0
            ? unnamed
            : withDescriptor { openat(parent.fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o7777) }
        guard fd >= 0 else { return undone(errno) }
        fchown(fd, caller.uid, caller.gid)
        fchmod(fd, mode & 0o7777)  // the caller's umask is applied already, the daemon's must not be (see mkdir)
        var named = unnamed < 0
        do {
            let fields = try store.newHeaderFields(label: label, owner: caller.uid, method: .folder)
            let c = try Container.create(
                fd: fd, fields: fields, kek: try store.labelKey(label, version: fields.labelKeyVersion))
            if !named {
                guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", parent.fd, name, AT_SYMLINK_FOLLOW) == 0 else {
                    let e = errno; close(fd); return undone(e)  // EEXIST, as O_EXCL would say
                }
                named = true
            }
            if let pending {
                waited = true; _ = try pending.wait()
            } else if !record(row) {
                throw MountError.system("ledger", .io)
            }
            return .success((fd, c, path))
        } catch {
            close(fd)
            if named { unlinkat(parent.fd, name, 0) }
            log.error("create \(Self.text(path)): \(error)")
            return undone(EIO)
        }
    }

    func create(
        _ req: fuse_req_t?, _ parentIno: UInt64, _ name: String, _ mode: mode_t,
        _ fi: UnsafeMutablePointer<fuse_file_info>
    ) {
        guard let parent = inodes.get(parentIno) else { return reply(req, ENOENT) }
        let caller = Caller(req)
        let made: (fd: Int32, container: Container, path: [UInt8])
        switch newContainer(parent, name, mode, caller) {
        case .success(let m): made = m
        case .failure(let e): return reply(req, e.rawValue)
        }
        let pfd = withDescriptor { openat(parent.fd, name, oPath | O_NOFOLLOW) }
        var st = stat()
        guard pfd >= 0, fstatat(pfd, "", &st, atEmptyPath) == 0 else {
            // Out of descriptors (or worse): undo the create rather than leave a file the caller was told failed.
            let e = pfd >= 0 ? EIO : errno
            if pfd >= 0 { close(pfd) }
            close(made.fd); unlinkat(parent.fd, name, 0)
            recordCreateUndone(caller, made.path, label: nil, e)
            return reply(req, e)
        }
        let node = inodes.adopt(fd: pfd, st: st, parent: parent.ino, name: name)
        let file = OpenFile(fd: made.fd, container: made.container)
        node.state.withLock {
            $0.open = file; $0.openCount = 1
        }
        // The creator's rights, now that the file exists with the caller as owner.
        let rights = store.rights(of: caller.identity, header: made.container.fields)
        let (_, canRead, _) = Action.needed(flags: fi.pointee.flags)
        let h = Handle(
            inode: node, file: file, canRead: canRead && rights.contains(.view), canWrite: true,
            caller: caller, path: made.path, scanning: detectors)
        fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(h).toOpaque()))
        fi.pointee.keep_cache = 1
        var e = fuse_entry_param()
        e.ino = node.ino
        e.attr = present(st)
        e.attr_timeout = attrTimeout
        e.entry_timeout = attrTimeout
        fuse_reply_create(req, &e, fi)
    }

    func open(_ req: fuse_req_t?, _ ino: UInt64, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        guard let node = inodes.get(ino) else { return reply(req, ENOENT) }
        // With the header already known, the disk starts fetching the file first; the caller's name and path
        // are read, the decision made and its row committed by the ledger's writer meanwhile, and this thread
        // then authenticates the header. Nothing is answered before the row is committed, and a header that
        // differs is decided again.
        let (early, prefetched) = knownHeader(node)
        let caller = Caller(req)
        let path = sharePath(node)
        let flags = fi.pointee.flags
        let (_, canRead, canWrite) = Action.needed(flags: flags)
        var pending: PendingAppend?
        if let early {
            switch startRow(decide(caller, .open(flags: flags), on: .file(early), path: path)) {
            case .success(let p): pending = p
            case .failure(let e): if let prefetched { close(prefetched) }; return reply(req, e.rawValue)
            }
        }
        let file: OpenFile
        do { file = try acquire(node, opened: prefetched) } catch {
            _ = finishRow(pending)
            if case MountError.system(_, let e) = error { return reply(req, e.rawValue) }
            return reply(req, integrityFailure(caller, path: path, label: nil, error))
        }
        guard finishRow(pending) else { releaseFile(node); return reply(req, EIO) }
        let now = file.container.fields
        if now != early {
            if let e = commit(decide(caller, .open(flags: flags), on: .file(now), path: path)) {
                releaseFile(node); return reply(req, e)
            }
        }
        var truncated = false
        if flags & O_TRUNC != 0 {
            do { try file.container.truncate(to: 0); truncated = true } catch {
                releaseFile(node); return reply(req, errnoFor(error))
            }
        }
        let scan = canWrite && (truncated || file.container.size == 0) ? detectors : nil
        let h = Handle(
            inode: node, file: file, canRead: canRead, canWrite: canWrite, caller: caller, path: path,
            scanning: scan)
        fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(h).toOpaque()))
        // Content that expires is never served from the kernel's cache: every read reaches this daemon, which
        // refuses it once the label's expiry has passed (a held handle read on from the cache before).
        if now.expiry != nil { fi.pointee.direct_io = 1 } else { fi.pointee.keep_cache = 1 }
        // A close settles labels of what was written; a handle that cannot write has nothing to settle, so
        // its close(2) need not wait for a round trip to this daemon (the release still comes).
        if !canWrite { fi.pointee.noflush = 1 }
        fuse_reply_open(req, fi)
    }

    /// The row for a create that was logged and then could not finish.
    private func recordCreateUndone(_ caller: Caller, _ path: [UInt8], label: String?, _ e: Int32) {
        _ = record(
            caller.event(
                .unlink, .error, path: path, label: label,
                detail: "create undone: \(String(cString: strerror(e)))"))
    }

    /// `commit` for an operation that works while its row is committed: a refusal is logged and fails; an
    /// allowed row the operation must wait for is started (`finishRow` waits), one it need not wait for is
    /// queued at once and nothing is pending. On failure the access must not be granted. Nothing, not even
    /// the truncation O_TRUNC asks for, is done to the file before the row is committed.
    func startRow(_ decision: AccessDecision) -> Result<PendingAppend?, Errno> {
        let row: LedgerEvent
        switch decision {
        case .failure(let refused): _ = record(refused.row); return .failure(Errno(refused.errno))
        case .success(let allowed):
            guard let r = allowed.row else { return .success(nil) }
            guard allowed.waits else { return record(r) ? .success(nil) : .failure(Errno(EIO)) }
            row = r
        }
        do { return .success(try ledger.appendStarted(row)) } catch {
            log.error("ledger append failed: \(error)")
            return .failure(Errno(EIO))
        }
    }

    /// Waits for a started row (always, also on a failure path: its batch's other callers are woken through
    /// it). False when it could not be committed.
    func finishRow(_ pending: PendingAppend?) -> Bool {
        guard let pending else { return true }
        do { _ = try pending.wait(); return true } catch {
            log.error("ledger append failed: \(error)")
            return false
        }
    }

    /// The header of a file without reading it: from its open view, or as authenticated before and unchanged
    /// since. When no view is open, also a descriptor of the backing file with its header and final block
    /// already on their way from the disk.
    private func knownHeader(_ node: Inode) -> (HeaderFields?, Int32?) {
        guard node.isRegular else { return (nil, nil) }
        if let viewed = node.state.withLock({ $0.open?.container.fields }) { return (viewed, nil) }
        var st = stat()
        guard fstatat(node.fd, "", &st, atEmptyPath) == 0, let fields = headers.recall(st) else { return (nil, nil) }
        let fd = withDescriptor { Glibc.open(node.procPath, O_RDWR) }
        guard fd >= 0 else { return (fields, nil) }
        let head = min(st.st_size, 65_536)
        posix_fadvise(fd, 0, head, POSIX_FADV_WILLNEED)
        if st.st_size > head {
            posix_fadvise(fd, st.st_size - Layout.sealedBlockSize, Layout.sealedBlockSize, POSIX_FADV_WILLNEED)
        }
        return (fields, fd)
    }

    func read(_ req: fuse_req_t?, _ size: Int, _ off: Int, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let h = Self.handle(fi.pointee.fh)
        guard h.canRead else { return reply(req, EBADF) }
        guard stillHolds(h, .view, op: "read") else { return reply(req, EACCES) }
        // The kernel asks for its readahead window (128 KiB and more) even from a small file: a buffer that size
        // per read would be mapped and faulted in each time.
        let size = min(
            size, Int(clamping: h.file.container.size > UInt64(off) ? h.file.container.size - UInt64(off) : 0))
        var buf = [UInt8](unsafeUninitializedCapacity: size) { _, n in n = size }
        do {
            let n = try buf.withUnsafeMutableBytes { try h.file.container.read(into: $0, at: UInt64(off)) }
            h.didRead(n)
            buf.withUnsafeBytes { _ = fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), n) }
        } catch {
            reply(req, integrityFailure(h.caller, path: h.path, label: h.file.container.fields.labelId, error))
        }
    }

    func write(
        _ req: fuse_req_t?, _ buf: UnsafeRawBufferPointer, _ off: Int, _ fi: UnsafeMutablePointer<fuse_file_info>
    ) {
        let h = Self.handle(fi.pointee.fh)
        guard h.canWrite else { return reply(req, EBADF) }
        guard stillHolds(h, .edit, op: "write") else { return reply(req, EACCES) }
        // A large write is scanned by the detectors on another thread while the container seals and writes it.
        var scanned: DispatchSemaphore?
        if buf.count >= Self.backgroundScanBytes && h.isScanning {
            let done = DispatchSemaphore(value: 0)
            // The request's buffer outlives the scan: this request waits for it before replying.
            nonisolated(unsafe) let data = buf
            DispatchQueue.global(qos: .userInitiated).async {
                h.scan(data, at: UInt64(off)); done.signal()
            }
            scanned = done
        }
        do {
            try h.file.container.write(buf, at: UInt64(off))
            if let scanned { scanned.wait() } else { h.scan(buf, at: UInt64(off)) }
            h.didWrite(buf.count)
            fuse_reply_write(req, buf.count)
            if let run = h.sequentialRunToWriteBack(offset: UInt64(off), count: buf.count) {
                startWriteback(h.file, run)
            }
        } catch {
            scanned?.wait()
            h.abandonScan()
            reply(req, errnoFor(error))
        }
    }

    static let backgroundScanBytes = 128 * 1024

    /// Starts the disk writing a long sequential stream's last few MiB while the writer goes on, instead of
    /// all of it at the fsync or close that follows (the kernel's own threshold is a tenth of memory). The
    /// descriptor stays open until the call returns: the work item holds the file's view.
    func startWriteback(_ file: OpenFile, _ run: Range<UInt64>) {
        let from = Int(Layout.ciphertextSize(plaintextSize: run.lowerBound))
        let to = Int(Layout.ciphertextSize(plaintextSize: run.upperBound))
        writeback.async { _ = protfs_start_writeback(file.fd, from, to - from) }
    }

    func fsync(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let h = Self.handle(fi.pointee.fh)
        do { try h.file.container.sync(); reply(req, 0) } catch { reply(req, errnoFor(error)) }
    }

    /// Each close(2) of a descriptor: the label is settled before it returns.
    func flush(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let h = Self.handle(fi.pointee.fh)
        if h.takeUnclassifiedWrites() { classifyAfterWrite(h) }
        reply(req, 0)
    }

    func release(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let um = Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!)
        let h = um.takeUnretainedValue()
        if h.takeUnclassifiedWrites() { classifyAfterWrite(h) }
        // A close gates no access: queued, committed with the next batch, in order.
        let row = h.caller.event(.close, .allowed, path: h.path, label: h.file.container.fields.labelId, detail: nil)
            .withBytes(read: h.bytesRead, written: h.bytesWritten)
        do { try ledger.appendLater(row) } catch { log.error("ledger: \(error)") }
        releaseFile(h.inode)
        um.release()
        reply(req, 0)
        inodes.forget(h.inode.ino, 0)
    }

    func fallocate(
        _ req: fuse_req_t?, _ mode: Int32, _ off: Int, _ len: Int, _ fi: UnsafeMutablePointer<fuse_file_info>
    ) {
        let h = Self.handle(fi.pointee.fh)
        guard mode == 0 else { return reply(req, EOPNOTSUPP) }
        guard h.canWrite else { return reply(req, EBADF) }
        // Growth by fallocate is a size change like a truncate: judged again after a raise, and a row.
        guard stillHolds(h, .edit, op: "fallocate") else { return reply(req, EACCES) }
        guard off >= 0, len > 0, off <= Int.max - len else { return reply(req, EINVAL) }
        do {
            let end = UInt64(off + len)
            guard end > h.file.container.size else { return reply(req, 0) }
            let grow = Action.setattr(AttributeChange(size: Int64(end), via: "fallocate"))
            let subject = Subject.judged(currentRights(h), label: h.file.container.fields.labelId)
            if let e = commit(decide(h.caller, grow, on: subject, path: h.path)) { return reply(req, e) }
            try h.file.container.truncate(to: end)
            reply(req, 0)
        } catch { reply(req, errnoFor(error)) }
    }
}

extension LedgerEvent {
    func withBytes(read: Int64, written: Int64) -> LedgerEvent {
        var e = self
        e.bytesRead = read
        e.bytesWritten = written
        return e
    }
}
