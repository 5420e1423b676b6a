import COpenSSL
import Synchronization

/// A heap buffer for key material: never copied implicitly, wiped with OPENSSL_cleanse when freed.
/// Unchecked: the buffer is written only while it is made, then only read (and wiped by deinit).
public final class SecureBytes: @unchecked Sendable {
    public let count: Int
    private let storage: UnsafeMutableRawPointer
    /// Distinguishes keys in per-thread cipher-context caches; never reused within a process.
    public let identity: UInt64

    public init(count: Int) {
        precondition(count > 0)
        self.count = count
        storage = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: count)
        identity = KeyIdentity.next()
    }

    public convenience init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        self.init(count: bytes.count)
        var i = 0
        for b in bytes { storage.storeBytes(of: b, toByteOffset: i, as: UInt8.self); i += 1 }
    }

    /// Fresh random key material from the CSPRNG.
    public static func random(count: Int) throws -> SecureBytes {
        let k = SecureBytes(count: count)
        try k.withUnsafeMutableBytes { try Random.fill($0) }
        return k
    }

    deinit {
        OPENSSL_cleanse(storage, count)
        storage.deallocate()
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: storage, count: count))
    }

    /// Copies out the bytes; only for sealing into storage formats, callers must not log the result.
    public func exportBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}

enum KeyIdentity {
    private static let counter = Atomic<UInt64>(0)
    static func next() -> UInt64 { counter.add(1, ordering: .relaxed).newValue }
}
