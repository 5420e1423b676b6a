import Foundation
import Glibc
@testable import ProtContainer
import ProtCrypto

/// A scratch directory removed when the fixture goes away.
final class TempDir {
    let path: String
    init() {
        var template = Array("/tmp/protfs-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

struct Keys {
    static let kek = try! SecureBytes.random(count: 32)
    static let other = try! SecureBytes.random(count: 32)
    // Immutable after initialization; the closure captures only the two constant keys.
    nonisolated(unsafe) static let lookup: LabelKeyLookup = { label, version in
        guard version == 1 else { throw ContainerError.keyUnavailable("no version \(version)") }
        return label == "secret" ? other : kek
    }
}

func openFD(_ path: String, create: Bool = false) -> Int32 {
    let fd = Glibc.open(path, create ? (O_RDWR | O_CREAT | O_TRUNC) : O_RDWR, 0o600)
    precondition(fd >= 0, "open \(path): \(errno)")
    return fd
}

func newFields(label: String = "general") throws -> HeaderFields {
    HeaderFields(
        fileId: try Random.bytes(16), labelId: label, labelKeyVersion: 1, ownerUid: 1000,
        labeledAt: 1_700_000_000_000_000_000, method: .folder)
}

func makeContainer(_ path: String, content: [UInt8], label: String = "general") throws -> Container {
    let fd = openFD(path, create: true)
    let c = try Container.create(
        fd: fd, fields: try newFields(label: label), kek: label == "secret" ? Keys.other : Keys.kek)
    try c.write(content, at: 0)
    return c
}

func readAll(_ path: String) throws -> [UInt8] {
    let fd = openFD(path)
    defer { close(fd) }
    let c = try Container.open(fd: fd, keys: Keys.lookup)
    return try c.read(at: 0, count: Int(c.size))
}

func fileBytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path)!) }
func setFileBytes(_ path: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Deterministic generator so a failing property run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
