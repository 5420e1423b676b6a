import Foundation
import Glibc
import Testing
@testable import ProtContainer

/// `fsck --repair`: a torn tail (an extending write cut short) is cut back to the blocks that verify;
/// damage anywhere else is refused.
@Suite struct TailRepairTests {
    let content = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    @Test func tornTailIsCutBackToTheVerifiedBlocks() throws {
        let d = TempDir()
        let path = d.file("a")
        _ = try makeContainer(path, content: content)
        // An extension that died half-way: the old final block resealed as an ordinary one is gone with the
        // cut, and half a block of new data is on disk.
        let fd = openFD(path)
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        #expect(ftruncate(fd, size - 2000) == 0)
        #expect(throws: (any Error).self) { try Container.open(fd: fd, keys: Keys.lookup) }
        let r = try Container.repairTornTail(fd: fd, keys: Keys.lookup)
        #expect(
            r
                == .cut(
                    keptSize: 16_384,
                    lostBytes: UInt64(size - 2000) - UInt64(Layout.ciphertextSize(plaintextSize: 16_384))))
        let c = try Container.open(fd: fd, keys: Keys.lookup)
        #expect(c.size == 16_384)
        #expect(try c.read(at: 0, count: 16_384) == Array(content.prefix(16_384)))
        #expect(try Container.repairTornTail(fd: fd, keys: Keys.lookup) == .notATornTail("the container is intact"))
    }

    @Test func damageInTheMiddleIsNotRepaired() throws {
        let d = TempDir()
        let path = d.file("b")
        _ = try makeContainer(path, content: content)
        let fd = openFD(path)
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        var byte: UInt8 = 0
        let at = off_t(Layout.headerSize + Layout.sealedBlockSize + 10)
        #expect(pread(fd, &byte, 1, at) == 1)
        byte ^= 0xFF
        #expect(pwrite(fd, &byte, 1, at) == 1)
        #expect(ftruncate(fd, size - 100) == 0)
        guard case .notATornTail(let why) = try Container.repairTornTail(fd: fd, keys: Keys.lookup) else {
            Issue.record("a bad block followed by good ones was cut"); return
        }
        #expect(why.contains("block 1 fails but block 2 verifies"), "\(why)")
        #expect(lseek(fd, 0, SEEK_END) == size - 100, "the file was changed")
    }
}
