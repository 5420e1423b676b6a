import Foundation
import Glibc
import ProtContainer
import ProtCrypto
import ProtPolicy

/// What a portable copy says about itself, next to the container. Authenticated by a MAC under a key
/// derived from the content key, so it is trusted only once the content key is known: before that the
/// reader uses it just to find the key service (a forged address can learn who asks, never the content).
public struct ShareEnvelope: Codable, Equatable, Sendable {
    public struct Service: Codable, Equatable, Sendable {
        public var url: String
        public var publicKey: String
        public init(url: String, publicKey: String) { self.url = url; self.publicKey = publicKey }
    }
    public var format = "protfs-share-v1"
    public var shareId: String
    public var fileName: String
    public var label: String
    public var sharer: String
    public var created: Int64
    public var expires: Int64?
    public var rights: UInt16
    public var tracked: Bool
    public var offlineSeconds: Int64
    public var service: Service?

    public init(
        shareId: String, fileName: String, label: String, sharer: String, created: Int64, expires: Int64?,
        rights: UInt16, tracked: Bool, offlineSeconds: Int64, service: Service?
    ) {
        self.shareId = shareId; self.fileName = fileName; self.label = label; self.sharer = sharer;
        self.created = created
        self.expires = expires; self.rights = rights; self.tracked = tracked; self.offlineSeconds = offlineSeconds
        self.service = service
    }
}

/// The `.pfs` layout (docs/FORMAT.md): the container exactly as stored (header slots, sealed blocks), then
/// the envelope JSON, its 32-byte MAC, the envelope length (u32, big-endian) and the magic `PFSHARE1`.
/// Everything a reader takes from the trailer is bounds-checked before use.
public enum PortableCopy {
    public static let magic = Array("PFSHARE1".utf8)
    static let maxEnvelope = 64 * 1024
    static let macPurpose = "share envelope"

    /// The authenticated part of the trailer: magic, length and envelope bytes.
    static func signedPart(_ envelope: [UInt8]) -> [UInt8] {
        magic + withUnsafeBytes(of: UInt32(envelope.count).bigEndian) { Array($0) } + envelope
    }

    /// Writes a portable copy of `container` into `fd` (from offset 0; the file is truncated to fit).
    public static func write(_ container: Container, envelope: ShareEnvelope, to fd: Int32) throws {
        let length = try container.exportImage(to: fd)
        let env = try Array(JSONEncoder.sorted.encode(envelope))
        let mac = try container.mac(signedPart(env), purpose: macPurpose)
        let trailer = env + mac + withUnsafeBytes(of: UInt32(env.count).bigEndian) { Array($0) } + magic
        try trailer.withUnsafeBytes { b in
            guard pwrite(fd, b.baseAddress, b.count, off_t(length)) == b.count else {
                throw ShareError.io("writing the portable copy: \(String(cString: strerror(errno)))")
            }
        }
        guard ftruncate(fd, off_t(length) + off_t(trailer.count)) == 0, fsync(fd) == 0 else {
            throw ShareError.io("writing the portable copy: \(String(cString: strerror(errno)))")
        }
    }

    /// A portable copy read from `fd`: where its container ends, and its (not yet authenticated) envelope.
    public struct Parsed {
        public let containerLength: UInt64
        public let envelope: ShareEnvelope
        let envelopeBytes: [UInt8]
        let mac: [UInt8]

        /// Checks the envelope's MAC once the container is open (its content key is then known).
        public func authenticate(with container: Container) throws {
            let expected = try container.mac(PortableCopy.signedPart(envelopeBytes), purpose: PortableCopy.macPurpose)
            guard ConstantTime.equal(expected, mac) else {
                throw ShareError.tampered("the share description does not authenticate")
            }
        }
    }

    public static func parse(fd: Int32, name: String) throws -> Parsed {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ShareError.io("\(name): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ShareError.notAPortableCopy(name) }
        return try parse(size: UInt64(st.st_size), name: name) { offset, count in
            var buf = [UInt8](repeating: 0, count: count)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? buf : nil
        }
    }

    /// The trailer of a copy of `size` bytes, read through `read(offset, count)` (also the fuzzing entry point:
    /// any input must give an answer or an error, never a crash or an out-of-bounds read).
    public static func parse(size: UInt64, name: String, read: (UInt64, Int) -> [UInt8]?) throws -> Parsed {
        guard size >= UInt64(Layout.headerSize + 12 + 32) else { throw ShareError.notAPortableCopy(name) }
        guard let tail = read(size - 12, 12), Array(tail[4...]) == magic else {
            throw ShareError.notAPortableCopy(name)
        }
        let envLength = UInt64(tail[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard envLength > 0, envLength <= UInt64(maxEnvelope), envLength + 44 + UInt64(Layout.headerSize) <= size else {
            throw ShareError.tampered("impossible envelope length \(envLength)")
        }
        let containerLength = size - 44 - envLength
        guard let env = read(containerLength, Int(envLength) + 32) else { throw ShareError.io("\(name): short read") }
        let envelopeBytes = Array(env[0..<Int(envLength)]), mac = Array(env[Int(envLength)...])
        guard let envelope = try? JSONDecoder().decode(ShareEnvelope.self, from: Data(envelopeBytes)),
            envelope.format == "protfs-share-v1", ShareBook.isValidId(envelope.shareId)
        else {
            throw ShareError.tampered("the share description is not readable")
        }
        guard Layout.plaintextSize(ciphertextSize: containerLength) != nil else {
            throw ShareError.tampered("impossible container length \(containerLength)")
        }
        return Parsed(containerLength: containerLength, envelope: envelope, envelopeBytes: envelopeBytes, mac: mac)
    }
}

extension JSONEncoder {
    /// Stable key order, so the same value always gives the same bytes.
    static var sorted: JSONEncoder { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return e }
}
