import Foundation
import Glibc
import Testing
@testable import ProtContainer

/// Sparse containers: growth past the end leaves whole blocks unwritten, listed in the authenticated header.
/// Such a block reads as zeros; a block zeroed anywhere else is still an integrity failure.
@Suite struct HoleTests {
    static let B = UInt64(Layout.blockSize)

    func allocatedBytes(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_blocks) * 512 : -1
    }

    @Test func growingByTruncateWritesOnlyTheFinalBlock() throws {
        let dir = TempDir(), path = dir.file("sparse")
        let c = try makeContainer(path, content: Array("hello".utf8))
        try c.truncate(to: 1 << 30)
        #expect(c.size == 1 << 30)
        #expect(c.fields.holes == [BlockRange(first: 1, count: (1 << 30) / Self.B - 2)])
        #expect(allocatedBytes(path) < 1 << 20, "a 1 GiB truncate allocated \(allocatedBytes(path)) bytes")
        #expect(try c.read(at: 0, count: 6) == Array("hello".utf8) + [0])
        #expect(try c.read(at: 512 << 20, count: 8192) == [UInt8](repeating: 0, count: 8192))
        #expect(try c.read(at: (1 << 30) - 3, count: 10) == [0, 0, 0])
        // Reopened from disk, with the hole list authenticated like the rest of the header.
        let fd = openFD(path)
        defer { close(fd) }
        let again = try Container.open(fd: fd, keys: Keys.lookup)
        #expect(again.fields.holes == c.fields.holes)
        #expect(try again.read(at: 700 << 20, count: 4) == [0, 0, 0, 0])
        #expect(Container.check(fd: fd, keys: Keys.lookup).isClean)
    }

    @Test func writesIntoAHoleAuthenticateAndShrinkingTrimsTheList() throws {
        let dir = TempDir(), path = dir.file("sparse")
        let c = try makeContainer(path, content: [1, 2, 3])
        try c.write(Array("far".utf8), at: 100 * Self.B)
        #expect(c.fields.holes == [BlockRange(first: 1, count: 99)])
        try c.write(Array("mid".utf8), at: 50 * Self.B + 7)
        #expect(try c.read(at: 50 * Self.B + 5, count: 7) == [0, 0] + Array("mid".utf8) + [0, 0])
        try c.truncate(to: 40 * Self.B + 1)
        #expect(c.fields.holes == [BlockRange(first: 1, count: 39)])
        try c.truncate(to: 3)
        #expect(c.fields.holes == [])
        #expect(try readAll(path) == [1, 2, 3])
    }

    @Test func aZeroedBlockOutsideAHoleIsAnIntegrityFailure() throws {
        let dir = TempDir(), path = dir.file("dense")
        let content = [UInt8](repeating: 7, count: Int(40 * Self.B))
        _ = try makeContainer(path, content: content)
        var bytes = fileBytes(path)
        let at = Int(Layout.blockOffset(5))
        let zeros = [UInt8](repeating: 0, count: Layout.sealedBlockSize)
        bytes.replaceSubrange(at..<(at + Layout.sealedBlockSize), with: zeros)
        setFileBytes(path, bytes)
        let fd = openFD(path)
        defer { close(fd) }
        let c = try Container.open(fd: fd, keys: Keys.lookup)
        #expect(throws: ContainerError.corruptBlock(5)) { try c.read(at: 5 * Self.B, count: 10) }
    }

    @Test func theFinalBlockIsNeverTakenForAHole() throws {
        let dir = TempDir(), path = dir.file("tail")
        let c = try makeContainer(path, content: [9])
        try c.truncate(to: 64 * Self.B)
        var bytes = fileBytes(path)
        let at = Int(Layout.blockOffset(63))
        bytes.replaceSubrange(at..<bytes.count, with: [UInt8](repeating: 0, count: bytes.count - at))
        setFileBytes(path, bytes)
        let fd = openFD(path)
        defer { close(fd) }
        #expect(throws: ContainerError.self) { try Container.open(fd: fd, keys: Keys.lookup) }
    }

    @Test func aFullHoleListMergesTheLastRange() throws {
        let dir = TempDir(), path = dir.file("many")
        let c = try makeContainer(path, content: [1])
        for i in 0..<70 { try c.write([UInt8(i)], at: UInt64(i + 1) * 20 * Self.B) }
        #expect(c.fields.holes.count == HeaderSlot.maxHoleRanges)
        for i in 0..<70 { #expect(try c.read(at: UInt64(i + 1) * 20 * Self.B, count: 1) == [UInt8(i)]) }
        #expect(try c.read(at: 30 * Self.B, count: 3) == [0, 0, 0])
        #expect(try readAll(path).count == Int(c.size))
    }

    @Test func anExportedImageStaysSparse() throws {
        let dir = TempDir(), path = dir.file("sparse"), copy = dir.file("copy")
        let c = try makeContainer(path, content: Array("head".utf8))
        try c.truncate(to: 1 << 30)
        try c.write(Array("tail".utf8), at: (1 << 30) - 4)
        let out = openFD(copy, create: true)
        defer { close(out) }
        #expect(try c.exportImage(to: out) == Layout.ciphertextSize(plaintextSize: 1 << 30))
        #expect(allocatedBytes(copy) < 1 << 20, "the copy allocated \(allocatedBytes(copy)) bytes")
        let again = try Container.open(fd: out, keys: Keys.lookup)
        #expect(try again.read(at: 0, count: 4) == Array("head".utf8))
        #expect(try again.read(at: (1 << 30) - 4, count: 4) == Array("tail".utf8))
        #expect(try again.read(at: 1 << 29, count: 4) == [0, 0, 0, 0])
    }

    @Test func checksAndScansSkipTheBackingFilesHoles() throws {
        let dir = TempDir(), path = dir.file("huge")
        let c = try makeContainer(path, content: Array("head".utf8))
        try c.truncate(to: 1 << 40)  // 1 TiB: visiting every block would take hours
        // Block 1 shares a filesystem block with block 0; from block 2 on, the hole is skipped to (about) the end.
        #expect(c.nextData(from: 2 * Self.B) >= (1 << 40) - 2 * Self.B)
        #expect(c.nextData(from: 2) == 2)
        let fd = openFD(path)
        defer { close(fd) }
        #expect(Container.check(fd: fd, keys: Keys.lookup).isClean)
        // A dense file with a stretch zeroed by hand: every zeroed block is still reported.
        let dense = dir.file("dense")
        _ = try makeContainer(dense, content: [UInt8](repeating: 3, count: Int(100 * Self.B)))
        let dfd = openFD(dense)
        defer { close(dfd) }
        let start = Layout.blockOffset(10), length = Layout.blockOffset(60) - start
        let punch = Process()
        punch.executableURL = URL(fileURLWithPath: "/usr/bin/fallocate")
        punch.arguments = ["--punch-hole", "--offset", "\(start)", "--length", "\(length)", dense]
        try punch.run()
        punch.waitUntilExit()
        #expect(punch.terminationStatus == 0)
        let report = Container.check(fd: dfd, keys: Keys.lookup)
        #expect(report.badBlocks.count >= 49 && report.badBlocks.count <= 51, "\(report.badBlocks.count) bad blocks")
    }

    @Test func malformedHoleListsAreRefused() throws {
        var good = try newFields()
        good.holes = [BlockRange(first: 1, count: 4), BlockRange(first: 9, count: 2)]
        let wrapped = [UInt8](repeating: 1, count: 60)
        func parses(_ holes: [BlockRange]) -> Bool {
            var f = good
            f.holes = holes
            let signed = HeaderSlot.signedBytes(
                body: HeaderSlot.encodeBody(f, wrappedKey: wrapped), generation: 1,
                flags: HeaderSlot.holesFlag)
            let image = HeaderSlot.image(signed: signed, mac: [UInt8](repeating: 0, count: 32))
            return (try? HeaderSlot.parse(image)) != nil
        }
        #expect(parses(good.holes))
        #expect(!parses([BlockRange(first: 0, count: 4)]), "block 0")
        #expect(!parses([BlockRange(first: 1, count: 0)]), "an empty range")
        #expect(!parses([BlockRange(first: 1, count: 4), BlockRange(first: 5, count: 1)]), "touching ranges")
        #expect(!parses([BlockRange(first: 9, count: 2), BlockRange(first: 1, count: 4)]), "out of order")
        #expect(!parses([BlockRange(first: UInt64.max - 1, count: 4)]), "past u64")
    }
}
