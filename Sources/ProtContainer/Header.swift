import ProtCrypto

public enum LabelingMethod: UInt8, Sendable, CustomStringConvertible {
    case folder = 0, auto = 1, manual = 2
    public var description: String { ["folder", "auto", "manual"][Int(rawValue)] }
}

/// A per-file grant: rights given to one identity on this file only (protfs share).
public struct Grant: Equatable, Sendable {
    /// `uid:N`, `gid:N`, `user:NAME`, `group:NAME` or `x25519:HEX` for an outside recipient.
    public var identity: String
    public var rights: UInt16
    /// Unix time in nanoseconds; nil for no expiry.
    public var expiry: Int64?
    public var shareId: [UInt8]
    /// The content key wrapped to the recipient's X25519 public key, or empty.
    public var recipientWrappedKey: [UInt8]

    public init(
        identity: String, rights: UInt16, expiry: Int64? = nil, shareId: [UInt8], recipientWrappedKey: [UInt8] = []
    ) {
        self.identity = identity; self.rights = rights; self.expiry = expiry
        self.shareId = shareId; self.recipientWrappedKey = recipientWrappedKey
    }
}

/// Blocks `first ..< first + count` of a container that were never written (a sparse extension): an all-zero
/// sealed block there reads as zeros. Listed in the authenticated header, so a block zeroed anywhere else is
/// still an integrity failure (docs/FORMAT.md, "Holes").
public struct BlockRange: Equatable, Sendable {
    public var first: UInt64
    public var count: UInt64
    public init(first: UInt64, count: UInt64) { self.first = first; self.count = count }
    public var end: UInt64 { first + count }
    public func contains(_ index: UInt64) -> Bool { index >= first && index < end }
}

/// Everything in a header except the content key itself. Wrapped-key bytes travel separately.
public struct HeaderFields: Equatable, Sendable {
    public var fileId: [UInt8]
    public var labelId: String
    public var labelKeyVersion: UInt32
    public var ownerUid: UInt32
    /// Unix time in nanoseconds.
    public var labeledAt: Int64
    public var method: LabelingMethod
    /// Content expiry, unix time in nanoseconds; nil for none.
    public var expiry: Int64?
    public var grants: [Grant]
    /// Never-written block ranges, sorted and disjoint (at most `HeaderSlot.maxHoleRanges`).
    public var holes: [BlockRange]

    public init(
        fileId: [UInt8], labelId: String, labelKeyVersion: UInt32, ownerUid: UInt32, labeledAt: Int64,
        method: LabelingMethod, expiry: Int64? = nil, grants: [Grant] = [], holes: [BlockRange] = []
    ) {
        self.fileId = fileId; self.labelId = labelId; self.labelKeyVersion = labelKeyVersion; self.ownerUid = ownerUid
        self.labeledAt = labeledAt; self.method = method; self.expiry = expiry; self.grants = grants
        self.holes = holes
    }
}

/// One header slot as stored: fields, the wrapped content key, its generation and MAC.
struct HeaderSlot {
    var fields: HeaderFields
    var wrappedKey: [UInt8]
    var generation: UInt64
    var mac: [UInt8]

    static let prefixSize = 24  // magic, version, flags, generation, body length
    static let macSize = 32
    static let maxBody = Layout.slotSize - prefixSize - macSize
    /// Flag bit 0: the body ends with a hole list. A reader of a file without holes sees flags 0, as before.
    static let holesFlag: UInt16 = 1
    /// 64 ranges are 1 KiB of the 4 KiB slot; a file extended past its end more often has ranges merged.
    static let maxHoleRanges = 64

    static func encodeBody(_ f: HeaderFields, wrappedKey: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(f.fileId)
        w.u32(UInt32(Layout.blockSize))
        w.shortBytes(Array(f.labelId.utf8))
        w.u32(f.labelKeyVersion)
        w.shortBytes(wrappedKey)
        w.u32(f.ownerUid)
        w.i64(f.labeledAt)
        w.u8(f.method.rawValue)
        w.i64(f.expiry ?? 0)
        w.u8(UInt8(f.grants.count))
        for g in f.grants {
            w.shortBytes(Array(g.identity.utf8))
            w.u16(g.rights)
            w.i64(g.expiry ?? 0)
            w.raw(g.shareId)
            w.mediumBytes(g.recipientWrappedKey)
        }
        if !f.holes.isEmpty {
            w.u16(UInt16(f.holes.count))
            for h in f.holes { w.u64(h.first); w.u64(h.count) }
        }
        return w.bytes
    }

    /// The signed part (prefix + body) and the full slot image; the MAC is computed by the caller.
    static func signedBytes(body: [UInt8], generation: UInt64, flags: UInt16) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Layout.magic)
        w.u16(Layout.version)
        w.u16(flags)
        w.u64(generation)
        w.u32(UInt32(body.count))
        w.raw(body)
        return w.bytes
    }

    static func image(signed: [UInt8], mac: [UInt8]) -> [UInt8] {
        var out = signed + mac
        out += [UInt8](repeating: 0, count: Layout.slotSize - out.count)
        return out
    }

    /// Parses a slot without checking its MAC (the key needed for that comes from the parsed fields).
    /// Returns nil for an all-zero (never written) slot.
    static func parse(_ slot: [UInt8]) throws -> (slot: HeaderSlot, signed: [UInt8])? {
        precondition(slot.count == Layout.slotSize)
        if slot.allSatisfy({ $0 == 0 }) { return nil }
        var r = ByteReader(slot)
        guard Array(try r.take(8, "magic")) == Layout.magic else { throw ContainerError.notAContainer }
        let version = try r.u16("version")
        guard version == Layout.version else {
            if version > Layout.version { throw ContainerError.unsupportedVersion(version) }
            throw ContainerError.corruptHeader("version \(version)")
        }
        let flags = try r.u16("flags")
        guard flags & ~holesFlag == 0 else { throw ContainerError.corruptHeader("unknown flags") }
        let generation = try r.u64("generation")
        let bodyLength = Int(try r.u32("body length"))
        guard bodyLength <= maxBody else { throw ContainerError.corruptHeader("body length \(bodyLength)") }
        let bodyStart = r.position
        let body = Array(try r.take(bodyLength, "body"))
        let mac = Array(try r.take(macSize, "mac"))
        guard slot[r.position...].allSatisfy({ $0 == 0 }) else {
            throw ContainerError.corruptHeader("slot padding is not zero")
        }

        var b = ByteReader(body)
        let fileId = Array(try b.take(16, "file id"))
        guard try b.u32("block size") == UInt32(Layout.blockSize) else {
            throw ContainerError.corruptHeader("block size")
        }
        guard let label = String(validating: try b.shortBytes("label"), as: UTF8.self), !label.isEmpty else {
            throw ContainerError.corruptHeader("label id")
        }
        let keyVersion = try b.u32("label key version")
        let wrapped = try b.shortBytes("wrapped key")
        guard wrapped.count == AESGCM.overhead + 32 else { throw ContainerError.corruptHeader("wrapped key length") }
        let owner = try b.u32("owner")
        let labeledAt = try b.i64("labeled at")
        guard let method = LabelingMethod(rawValue: try b.u8("method")) else {
            throw ContainerError.corruptHeader("labeling method")
        }
        let expiry = try b.i64("expiry")
        var grants: [Grant] = []
        for _ in 0..<Int(try b.u8("grant count")) {
            guard let who = String(validating: try b.shortBytes("grant identity"), as: UTF8.self) else {
                throw ContainerError.corruptHeader("grant identity")
            }
            let rights = try b.u16("grant rights")
            let gexp = try b.i64("grant expiry")
            let share = Array(try b.take(16, "share id"))
            let rw = try b.mediumBytes("grant key")
            grants.append(
                Grant(
                    identity: who, rights: rights, expiry: gexp == 0 ? nil : gexp, shareId: share,
                    recipientWrappedKey: rw))
        }
        let holes = flags & holesFlag != 0 ? try parseHoles(&b) : []
        guard b.remaining == 0 else { throw ContainerError.corruptHeader("trailing bytes in body") }
        let fields = HeaderFields(
            fileId: fileId, labelId: label, labelKeyVersion: keyVersion, ownerUid: owner,
            labeledAt: labeledAt, method: method, expiry: expiry == 0 ? nil : expiry,
            grants: grants, holes: holes)
        return (
            HeaderSlot(fields: fields, wrappedKey: wrapped, generation: generation, mac: mac),
            Array(slot[0..<(bodyStart + bodyLength)])
        )
    }
}

extension HeaderSlot {
    /// The hole list: 1 to 64 ranges, each non-empty, sorted, disjoint and not touching, ends within u64.
    static func parseHoles(_ b: inout ByteReader) throws -> [BlockRange] {
        let n = Int(try b.u16("hole count"))
        guard n >= 1, n <= maxHoleRanges else { throw ContainerError.corruptHeader("hole count \(n)") }
        var holes: [BlockRange] = []
        for _ in 0..<n {
            let first = try b.u64("hole start"), count = try b.u64("hole length")
            // Block 0 is never a hole (the first extension keeps it); each range starts past the one before.
            let startsAfter = holes.last.map { first > $0.end } ?? (first > 0)
            guard count > 0, first <= UInt64.max - count, startsAfter else {
                throw ContainerError.corruptHeader("hole list")
            }
            holes.append(BlockRange(first: first, count: count))
        }
        return holes
    }
}

/// Key derivations and AAD encodings shared by writer and verifier.
enum FileKeys {
    static func wrapAAD(fileId: [UInt8], label: String, version: UInt32) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array("protfs v1 file key".utf8))
        w.raw(fileId)
        w.shortBytes(Array(label.utf8))
        w.u32(version)
        return w.bytes
    }

    static func blockKey(_ fileKey: SecureBytes, fileId: [UInt8]) throws -> SecureBytes {
        try KDF.hkdf(key: fileKey, salt: fileId, info: Array("protfs v1 block key".utf8))
    }

    static func macKey(_ fileKey: SecureBytes, fileId: [UInt8]) throws -> SecureBytes {
        try KDF.hkdf(key: fileKey, salt: fileId, info: Array("protfs v1 header mac key".utf8))
    }

    /// Binds a block to its file and position; the final block is also bound to the header MAC,
    /// so a cut at a block boundary or an older header put back fails authentication.
    static func blockAAD(fileId: [UInt8], index: UInt64, finalFor headerMAC: [UInt8]?) -> [UInt8] {
        var w = ByteWriter()
        w.raw(fileId)
        w.u64(index)
        if let mac = headerMAC { w.u8(1); w.raw(mac) } else { w.u8(0) }
        return w.bytes
    }
}
