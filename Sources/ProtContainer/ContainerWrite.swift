import Dispatch
import Glibc
import ProtSystem
import ProtCrypto

extension Container {
    /// Writes `data` at `offset`, extending the file (with zeros between the old end and `offset`) as needed.
    /// Partial blocks are read, authenticated, modified and resealed; the block that becomes final is sealed
    /// as final and the former final block is resealed as an ordinary block, both in the same pwrite when they
    /// are adjacent (the common append).
    public func write(_ data: UnsafeRawBufferPointer, at offset: UInt64) throws {
        guard data.count > 0 else { return }
        try lock.writing { try writeLocked(data, at: offset) }
    }

    public func write(_ data: [UInt8], at offset: UInt64) throws {
        try data.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Gaps of at least this many whole blocks past the end become a hole (one header rewrite, nothing
    /// written); shorter ones are written as sealed zeros, which costs less than the rewrite's fdatasync.
    static let holeMinBlocks: UInt64 = 16

    /// Sets the plaintext size; growing writes only the new final block (the blocks before it become a hole),
    /// shrinking reseals the new final block. `truncate -s 1G` wrote 1 GiB of sealed zeros in 1.5 s before.
    public func truncate(to newSize: UInt64) throws {
        try lock.writing {
            if newSize > plaintextSize {
                let from = max(plaintextSize, (newSize - 1) / UInt64(Layout.blockSize) * UInt64(Layout.blockSize))
                let zeros = [UInt8](repeating: 0, count: Int(newSize - from))
                try zeros.withUnsafeBytes { try writeLocked($0, at: from) }
            } else if newSize < plaintextSize {
                let B = UInt64(Layout.blockSize)
                let newFinal = newSize == 0 ? 0 : (newSize - 1) / B
                let kept = newSize == 0 ? [] : Array(try readBlock(newFinal)[0..<Int(newSize - newFinal * B)])
                plaintextSize = newSize
                let sealed = try sealBlock(index: newFinal, plaintext: kept, final: true)
                try sealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(newFinal)) }
                try FileIO.truncate(fd, Layout.ciphertextSize(plaintextSize: newSize))
                try trimHolesLocked()
            }
        }
    }

    /// Lists a new hole in the header (before anything is written past it). With the list full, the last range
    /// grows over the written blocks up to the new one: those still authenticate, but an all-zero block there
    /// would read as zeros (docs/FORMAT.md). False when the header has no room (the gap is then written).
    private func addHoleLocked(_ hole: BlockRange) throws -> Bool {
        var f = currentFields
        if f.holes.count == HeaderSlot.maxHoleRanges, let last = f.holes.popLast() {
            f.holes.append(BlockRange(first: last.first, count: hole.end - last.first))
        } else {
            f.holes.append(hole)
        }
        do { try rewriteHeaderLocked(f, wrappedKey: wrappedKey) } catch ContainerError.headerFull { return false }
        return true
    }

    /// Drops the parts of hole ranges at or past the final block (after a shrink or an undone extension): a
    /// block written there later must authenticate like any other.
    func trimHolesLocked() throws {
        let before = currentFields
        guard !before.holes.isEmpty else { return }
        var f = before
        f.holes = before.holes.compactMap { h in
            h.first < finalIndex ? BlockRange(first: h.first, count: min(h.end, finalIndex) - h.first) : nil
        }
        if f.holes != before.holes { try rewriteHeaderLocked(f, wrappedKey: wrappedKey) }
    }

    private func writeLocked(_ data: UnsafeRawBufferPointer, at offset: UInt64) throws {
        guard offset <= Layout.maxPlaintextSize - UInt64(data.count) else {
            throw ContainerError.io("write", .fileTooLarge)
        }
        let B = UInt64(Layout.blockSize)
        let oldSize = plaintextSize
        let end = offset + UInt64(data.count)
        let newSize = max(oldSize, end)
        let oldFinal = finalIndex
        let newFinal = Layout.blockCount(plaintextSize: newSize) - 1
        // Enough whole blocks between the old final block and the first one written are left unwritten: the
        // header lists them first, then the old final block is resealed (zero-filled) as an ordinary one.
        var hole: BlockRange?
        if offset > oldSize, offset / B >= oldFinal + 1 + Self.holeMinBlocks {
            let gap = BlockRange(first: oldFinal + 1, count: offset / B - oldFinal - 1)
            if try addHoleLocked(gap) { hole = gap }
        }
        let first = hole?.end ?? (newSize > oldSize ? min(offset / B, oldFinal) : offset / B)
        let last = newSize > oldSize ? newFinal : (end - 1) / B
        // A growing write reseals the old final block as an ordinary one: keep its sealed bytes, so a write
        // that fails half-way (ENOSPC) can put the container back as it was instead of leaving no final block.
        let oldCipherSize = Layout.ciphertextSize(plaintextSize: oldSize)
        var oldFinalSealed: [UInt8] = []
        if newSize > oldSize {
            oldFinalSealed = [UInt8](repeating: 0, count: Int(oldCipherSize - UInt64(Layout.blockOffset(oldFinal))))
            let n = try oldFinalSealed.withUnsafeMutableBytes {
                try FileIO.preadFull(fd, $0, at: Layout.blockOffset(oldFinal))
            }
            guard n == oldFinalSealed.count else { throw ContainerError.invalidLength(oldCipherSize) }
        }

        // Batches are sealed on this thread while the previous one is copied into the backing file on another
        // (one in flight, in order of sealing): a long write costs about the larger of the two, not their sum.
        // The write returns only once every batch is in the backing file, or it failed and was undone.
        var inFlight: BatchWrite?
        var writeError: Error?
        do {
            if hole != nil {
                var padded = try readBlock(oldFinal)
                padded += [UInt8](repeating: 0, count: Layout.blockSize - padded.count)
                let sealed = try sealBlock(index: oldFinal, plaintext: padded, final: false)
                do {
                    try sealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(oldFinal)) }
                } catch { writeError = error; throw error }
            }
            var batchStart = first
            while batchStart <= last {
                let batchEnd = min(last, batchStart + UInt64(Container.batchBlocks) - 1)
                let out = try sealBatch(
                    batchStart...batchEnd, data, at: offset, oldSize: oldSize, newSize: newSize, newFinal: newFinal)
                if let w = inFlight {
                    inFlight = nil
                    do { try w.wait() } catch { writeError = error; throw error }
                }
                if batchEnd == last {
                    do {
                        try out.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(batchStart)) }
                    } catch { writeError = error; throw error }
                } else {
                    inFlight = BatchWrite(fd: fd, bytes: out, at: Layout.blockOffset(batchStart))
                }
                batchStart = batchEnd + 1
            }
        } catch {
            // Never return with a copy still running; a failed copy is undone as far as the disk allows.
            if let w = inFlight { do { try w.wait() } catch { writeError = writeError ?? error } }
            guard let writeError else { throw error }
            let finalAt = Layout.blockOffset(oldFinal)
            if !oldFinalSealed.isEmpty, (try? FileIO.truncate(fd, oldCipherSize)) != nil,
                (try? oldFinalSealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: finalAt) }) != nil
            {
                plaintextSize = oldSize
            } else if let s = try? FileIO.size(fd), let p = Layout.plaintextSize(ciphertextSize: s) {
                // Keep the in-memory size honest about what reached the disk.
                plaintextSize = p
            }
            if hole != nil { try? trimHolesLocked() }
            throw writeError
        }
        // Old blocks are read with the old geometry until every batch is written.
        plaintextSize = newSize
    }

    /// The sealed bytes of blocks `range` under the new geometry: every block full except a final partial one.
    /// Blocks `data` covers whole are sealed straight from it; others are read, authenticated and merged.
    private func sealBatch(
        _ range: ClosedRange<UInt64>, _ data: UnsafeRawBufferPointer, at offset: UInt64,
        oldSize: UInt64, newSize: UInt64, newFinal: UInt64
    ) throws -> [UInt8] {
        let B = UInt64(Layout.blockSize)
        let end = offset + UInt64(data.count)
        let lastLen = Int(min(B, newSize - range.upperBound * B))
        let total = Int(range.upperBound - range.lowerBound) * Layout.sealedBlockSize + lastLen + AESGCM.overhead
        var out = [UInt8](unsafeUninitializedCapacity: total) { _, n in n = total }
        var scratch = [UInt8](repeating: 0, count: Layout.blockSize)
        try out.withUnsafeMutableBytes { o in
            for idx in range {
                let blockStart = idx * B
                let blockLen = Int(min(B, newSize - blockStart))
                let at = Int(idx - range.lowerBound) * Layout.sealedBlockSize
                let dst = UnsafeMutableRawBufferPointer(rebasing: o[at..<(at + blockLen + AESGCM.overhead)])
                let final = idx == newFinal
                if offset <= blockStart && end >= blockStart + UInt64(blockLen) {
                    let from = Int(blockStart - offset)
                    try sealBlock(
                        index: idx, plaintext: UnsafeRawBufferPointer(rebasing: data[from..<(from + blockLen)]),
                        final: final, into: dst)
                    continue
                }
                for k in 0..<blockLen { scratch[k] = 0 }
                if blockStart < oldSize {
                    let old = try readBlock(idx)
                    scratch.replaceSubrange(0..<old.count, with: old)
                }
                let from = max(offset, blockStart), to = min(end, blockStart + UInt64(blockLen))
                if from < to {
                    scratch.withUnsafeMutableBytes { p in
                        UnsafeMutableRawBufferPointer(rebasing: p[Int(from - blockStart)..<Int(to - blockStart)])
                            .copyMemory(
                                from: UnsafeRawBufferPointer(rebasing: data[Int(from - offset)..<Int(to - offset)]))
                    }
                }
                try scratch.withUnsafeBytes {
                    try sealBlock(
                        index: idx, plaintext: UnsafeRawBufferPointer(rebasing: $0[0..<blockLen]), final: final,
                        into: dst)
                }
            }
        }
        return out
    }
}

/// One sealed batch copied into the backing file on another thread; `wait` returns once it is there.
/// Unchecked: `error` is written by the copying thread before it signals `done`, read only after the wait.
private final class BatchWrite: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?

    init(fd: Int32, bytes: [UInt8], at offset: Int64) {
        DispatchQueue.global(qos: .userInitiated).async {
            do { try bytes.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: offset) } } catch { self.error = error }
            self.done.signal()
        }
    }

    func wait() throws {
        done.wait()
        if let error { throw error }
    }
}
