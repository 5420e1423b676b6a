import Testing
import Glibc
@testable import ProtContainer

/// Random pwrite/pread/truncate against an in-memory model, byte for byte, including writes that straddle
/// block edges and holes, and reopening from disk.
@Suite struct RandomAccessPropertyTests {
    @Test func tenThousandRandomOperations() throws {
        let seed = UInt64(ProcessInfoSeed.value)
        var rng = SplitMix64(state: seed)
        let dir = TempDir()
        let path = dir.file("prop")
        let maxSize = 3 << 20
        var model = [UInt8]()
        var c = try makeContainer(path, content: [])
        var fd = c.fd
        let B = Layout.blockSize
        func pickOffset() -> Int {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: return Int.random(in: 0...(model.count), using: &rng)
            case 1:  // near a block edge
                let edge = (Int.random(in: 0...(max(model.count, 1) / B + 1), using: &rng)) * B
                return max(0, min(maxSize - 1, edge + Int.random(in: -3...3, using: &rng)))
            case 2: return min(maxSize - 1, model.count + Int.random(in: 0...(3 * B), using: &rng))  // a gap written
            case 3: return min(maxSize - 1, model.count + Int.random(in: (20 * B)...(200 * B), using: &rng))  // a hole
            default: return Int.random(in: 0..<maxSize, using: &rng)
            }
        }
        for op in 0..<10_000 {
            let kind = Int.random(in: 0..<100, using: &rng)
            if kind < 45 {
                let off = pickOffset()
                // Now and then longer than a sealing batch (several batches, each written while the next is sealed).
                let long =
                    Int.random(in: 0..<20, using: &rng) == 0 ? Int.random(in: 130_000...700_000, using: &rng) : 70_000
                let len = min(
                    maxSize - off,
                    [1, 7, B - 1, B, B + 1, 3 * B + 5, Int.random(in: 1...long, using: &rng)].randomElement(
                        using: &rng)!)
                guard len > 0 else { continue }
                let data = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
                try c.write(data, at: UInt64(off))
                if off > model.count { model += [UInt8](repeating: 0, count: off - model.count) }
                if off + len > model.count { model += [UInt8](repeating: 0, count: off + len - model.count) }
                model.replaceSubrange(off..<(off + len), with: data)
            } else if kind < 85 {
                let off = pickOffset()
                let len = Int.random(in: 0...80_000, using: &rng)
                let got = try c.read(at: UInt64(off), count: len)
                let want = off >= model.count ? [] : Array(model[off..<min(model.count, off + len)])
                #expect(got == want, "seed \(seed) op \(op): read \(len) at \(off)")
                if got != want { return }
            } else if kind < 95 {
                let size = [
                    0, model.count / 2, model.count + Int.random(in: 0...(2 * B), using: &rng),
                    Int.random(in: 0..<maxSize, using: &rng), (model.count / B) * B
                ].randomElement(using: &rng)!
                try c.truncate(to: UInt64(size))
                if size < model.count {
                    model.removeLast(model.count - size)
                } else {
                    model += [UInt8](repeating: 0, count: size - model.count)
                }
            } else {
                close(fd)
                fd = openFD(path)
                c = try Container.open(fd: fd, keys: Keys.lookup)
            }
            #expect(c.size == UInt64(model.count), "seed \(seed) op \(op): size")
        }
        close(fd)
        #expect(try readAll(path) == model)
        #expect(Layout.plaintextSize(ciphertextSize: UInt64(fileBytes(path).count)) == UInt64(model.count))
    }

    @Test func sizeIsComputableFromCiphertextLengthAlone() {
        for p in [0, 1, 4095, 4096, 4097, 8192, 123_457] as [UInt64] {
            #expect(Layout.plaintextSize(ciphertextSize: Layout.ciphertextSize(plaintextSize: p)) == p)
        }
        // Header only, mid-tag cuts and an empty block after full ones are impossible lengths.
        #expect(Layout.plaintextSize(ciphertextSize: UInt64(Layout.headerSize)) == nil)
        #expect(Layout.plaintextSize(ciphertextSize: UInt64(Layout.headerSize + 27)) == nil)
        #expect(Layout.plaintextSize(ciphertextSize: UInt64(Layout.headerSize + Layout.sealedBlockSize + 28)) == nil)
    }
}

enum ProcessInfoSeed {
    /// PROTFS_SEED replays a run; otherwise a fresh seed is printed with any failure.
    static let value: UInt64 = {
        if let s = getenv("PROTFS_SEED"), let v = UInt64(String(cString: s)) { return v }
        return UInt64.random(in: 1...UInt64.max)
    }()
}
