import Testing
import Glibc
@testable import ProtContainer

/// Every alteration of a stored container is detected; no read returns wrong plaintext.
@Suite struct TamperTests {
    let content: [UInt8] = (0..<(3 * Layout.blockSize + 100)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    /// Either the whole read fails, or it returns exactly the original bytes; fsck must flag the damage.
    func expectDetected(_ path: String, _ what: String) {
        if let got = try? readAll(path) { #expect(got == content, "\(what): wrong plaintext returned") }
        let fd = openFD(path)
        defer { close(fd) }
        let report = Container.check(fd: fd, keys: Keys.lookup)
        #expect(!report.isClean, "\(what): not detected")
    }

    @Test func everyHeaderByteFlipIsDetected() throws {
        let dir = TempDir(), path = dir.file("f")
        let c = try makeContainer(path, content: content); close(c.fd)
        let original = fileBytes(path)
        for i in stride(from: 0, to: Layout.headerSize, by: 1) {
            var b = original; b[i] ^= 0x40
            setFileBytes(path, b)
            expectDetected(path, "header byte \(i)")
        }
    }

    @Test func everyBlockByteFlipIsDetected() throws {
        let dir = TempDir(), path = dir.file("f")
        let c = try makeContainer(path, content: content); close(c.fd)
        let original = fileBytes(path)
        for i in Layout.headerSize..<original.count {
            var b = original; b[i] ^= 0x01
            setFileBytes(path, b)
            #expect(throws: (any Error).self, "block byte \(i)") { _ = try readAll(path) }
        }
    }

    @Test func blockSwapsMovesAndTruncationsAreDetected() throws {
        let dir = TempDir(), a = dir.file("a"), other = dir.file("b")
        let c1 = try makeContainer(a, content: content); close(c1.fd)
        let c2 = try makeContainer(other, content: content); close(c2.fd)
        let orig = fileBytes(a), otherBytes = fileBytes(other)
        let S = Layout.sealedBlockSize, H = Layout.headerSize
        func block(_ b: [UInt8], _ i: Int) -> ArraySlice<UInt8> { b[(H + i * S)..<(H + (i + 1) * S)] }

        var swapped = orig
        swapped.replaceSubrange((H)..<(H + S), with: block(orig, 1))
        swapped.replaceSubrange((H + S)..<(H + 2 * S), with: block(orig, 0))
        setFileBytes(a, swapped); expectDetected(a, "swap blocks 0 and 1")

        var moved = orig
        moved.replaceSubrange((H + S)..<(H + 2 * S), with: block(otherBytes, 1))
        setFileBytes(a, moved); expectDetected(a, "block from another file")

        var headerSwap = orig
        headerSwap.replaceSubrange(0..<H, with: otherBytes[0..<H])
        setFileBytes(a, headerSwap); expectDetected(a, "header from another file")

        for cut in [1, 27, 28, 100, S] {
            setFileBytes(a, Array(orig.dropLast(cut))); expectDetected(a, "truncated by \(cut)")
        }
        // Exactly at block boundaries: the final block is gone and an ordinary block is last.
        for keep in [1, 2, 3] {
            setFileBytes(a, Array(orig[0..<(H + keep * S)])); expectDetected(a, "cut to \(keep) blocks")
        }
        setFileBytes(a, Array(orig[0..<H])); expectDetected(a, "cut to header only")
        setFileBytes(a, orig + block(orig, 0)); expectDetected(a, "block appended")
        setFileBytes(a, orig)
        #expect(try readAll(a) == content)
    }

    @Test func olderHeaderPutBackIsDetected() throws {
        let dir = TempDir(), path = dir.file("f")
        let c = try makeContainer(path, content: content, label: "general")
        let before = fileBytes(path)
        var relabeled = c.fields
        relabeled.labelId = "secret"
        relabeled.method = .manual
        try c.rewriteHeader(relabeled, kek: Keys.other)
        close(c.fd)
        #expect(try readAll(path) == content)
        let fd = openFD(path)
        #expect(try Container.open(fd: fd, keys: Keys.lookup).fields.labelId == "secret")
        close(fd)
        // Put back the whole older header region (both slots): its MAC is valid but the final block is not bound to it.
        var rolled = fileBytes(path)
        rolled.replaceSubrange(0..<Layout.headerSize, with: before[0..<Layout.headerSize])
        setFileBytes(path, rolled)
        #expect(throws: ContainerError.tailMismatch(3)) { _ = try readAll(path) }
    }

    @Test func wrongLabelKeyIsNotACorruptionButUnreadable() throws {
        let dir = TempDir(), path = dir.file("f")
        let c = try makeContainer(path, content: content); close(c.fd)
        let fd = openFD(path); defer { close(fd) }
        #expect(throws: (any Error).self) { _ = try Container.open(fd: fd, keys: { _, _ in Keys.other }) }
        #expect(throws: ContainerError.self) {
            _ = try Container.open(fd: fd, keys: { _, _ in throw ContainerError.keyUnavailable("x") })
        }
    }

    @Test func ciphertextHoldsNoPlaintext() throws {
        let dir = TempDir(), path = dir.file("f")
        let secret = Array(String(repeating: "TOP-SECRET-PAYROLL ", count: 500).utf8)
        let c = try makeContainer(path, content: secret); close(c.fd)
        let raw = fileBytes(path)
        #expect(!raw.windows(ofCount: 18).contains { Array($0) == Array("TOP-SECRET-PAYROLL".utf8) })
    }
}

extension Array where Element == UInt8 {
    func windows(ofCount n: Int) -> [ArraySlice<UInt8>] {
        count < n ? [] : (0...(count - n)).map { self[$0..<($0 + n)] }
    }
}
