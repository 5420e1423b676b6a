import Dispatch
import Glibc
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

    /// Sets the plaintext size; growing fills with zeros, shrinking reseals the new final block.
    public func truncate(to newSize: UInt64) throws {
        try lock.writing {
            if newSize > plaintextSize {
                let zeros = [UInt8](repeating: 0, count: Container.batchBlocks * Layout.blockSize)
                while plaintextSize < newSize {
                    let n = Int(min(UInt64(zeros.count), newSize - plaintextSize))
                    try zeros.withUnsafeBytes { try writeLocked(UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: plaintextSize) }
                }
            } else if newSize < plaintextSize {
                let B = UInt64(Layout.blockSize)
                let newFinal = newSize == 0 ? 0 : (newSize - 1) / B
                let kept = newSize == 0 ? [] : Array(try readBlock(newFinal)[0..<Int(newSize - newFinal * B)])
                plaintextSize = newSize
                let sealed = try sealBlock(index: newFinal, plaintext: kept, final: true)
                try sealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(newFinal)) }
                try FileIO.truncate(fd, Layout.ciphertextSize(plaintextSize: newSize))
            }
        }
    }

    private func writeLocked(_ data: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let B = UInt64(Layout.blockSize)
        let oldSize = plaintextSize
        let end = offset + UInt64(data.count)
        let newSize = max(oldSize, end)
        let oldFinal = finalIndex
        let newFinal = Layout.blockCount(plaintextSize: newSize) - 1
        let first = newSize > oldSize ? min(offset / B, oldFinal) : offset / B
        let last = newSize > oldSize ? newFinal : (end - 1) / B
        // A growing write reseals the old final block as an ordinary one: keep its sealed bytes, so a write
        // that fails half-way (ENOSPC) can put the container back as it was instead of leaving no final block.
        let oldCipherSize = Layout.ciphertextSize(plaintextSize: oldSize)
        var oldFinalSealed: [UInt8] = []
        if newSize > oldSize {
            oldFinalSealed = [UInt8](repeating: 0, count: Int(oldCipherSize - UInt64(Layout.blockOffset(oldFinal))))
            let n = try oldFinalSealed.withUnsafeMutableBytes { try FileIO.preadFull(fd, $0, at: Layout.blockOffset(oldFinal)) }
            guard n == oldFinalSealed.count else { throw ContainerError.invalidLength(oldCipherSize) }
        }

        // Batches are sealed on this thread while the previous one is copied into the backing file on another
        // (one in flight, in order of sealing): a long write costs about the larger of the two, not their sum.
        // The write returns only once every batch is in the backing file, or it failed and was undone.
        var inFlight: BatchWrite?
        var writeError: Error?
        do {
            var batchStart = first
            while batchStart <= last {
                let batchEnd = min(last, batchStart + UInt64(Container.batchBlocks) - 1)
                let out = try sealBatch(batchStart...batchEnd, data, at: offset, oldSize: oldSize, newSize: newSize, newFinal: newFinal)
                if let w = inFlight {
                    inFlight = nil
                    do { try w.wait() } catch { writeError = error; throw error }
                }
                if batchEnd == last {
                    do { try out.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(batchStart)) } }
                    catch { writeError = error; throw error }
                } else {
                    inFlight = BatchWrite(fd: fd, bytes: out, at: Layout.blockOffset(batchStart))
                }
                batchStart = batchEnd + 1
            }
        } catch {
            // Never return with a copy still running; a failed copy is undone as far as the disk allows.
            if let w = inFlight { do { try w.wait() } catch { writeError = writeError ?? error } }
            guard let writeError else { throw error }
            if !oldFinalSealed.isEmpty, (try? FileIO.truncate(fd, oldCipherSize)) != nil,
               (try? oldFinalSealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(oldFinal)) }) != nil {
                plaintextSize = oldSize
            } else if let s = try? FileIO.size(fd), let p = Layout.plaintextSize(ciphertextSize: s) {
                // Keep the in-memory size honest about what reached the disk.
                plaintextSize = p
            }
            throw writeError
        }
        // Old blocks are read with the old geometry until every batch is written.
        plaintextSize = newSize
    }

    /// The sealed bytes of blocks `range` under the new geometry: every block full except a final partial one.
    /// Blocks `data` covers whole are sealed straight from it; others are read, authenticated and merged.
    private func sealBatch(_ range: ClosedRange<UInt64>, _ data: UnsafeRawBufferPointer, at offset: UInt64,
                           oldSize: UInt64, newSize: UInt64, newFinal: UInt64) throws -> [UInt8] {
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
                    try sealBlock(index: idx, plaintext: UnsafeRawBufferPointer(rebasing: data[from..<(from + blockLen)]), final: final, into: dst)
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
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: data[Int(from - offset)..<Int(to - offset)]))
                    }
                }
                try scratch.withUnsafeBytes { try sealBlock(index: idx, plaintext: UnsafeRawBufferPointer(rebasing: $0[0..<blockLen]), final: final, into: dst) }
            }
        }
        return out
    }
}

/// One sealed batch copied into the backing file on another thread; `wait` returns once it is there.
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
