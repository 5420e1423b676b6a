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

    public init(identity: String, rights: UInt16, expiry: Int64? = nil, shareId: [UInt8], recipientWrappedKey: [UInt8] = []) {
        self.identity = identity; self.rights = rights; self.expiry = expiry
        self.shareId = shareId; self.recipientWrappedKey = recipientWrappedKey
    }
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

    public init(fileId: [UInt8], labelId: String, labelKeyVersion: UInt32, ownerUid: UInt32, labeledAt: Int64,
                method: LabelingMethod, expiry: Int64? = nil, grants: [Grant] = []) {
        self.fileId = fileId; self.labelId = labelId; self.labelKeyVersion = labelKeyVersion; self.ownerUid = ownerUid
        self.labeledAt = labeledAt; self.method = method; self.expiry = expiry; self.grants = grants
    }
}

/// One header slot as stored: fields, the wrapped content key, its generation and MAC.
struct HeaderSlot {
    var fields: HeaderFields
    var wrappedKey: [UInt8]
    var generation: UInt64
    var mac: [UInt8]

    static let prefixSize = 24      // magic, version, flags, generation, body length
    static let macSize = 32
    static let maxBody = Layout.slotSize - prefixSize - macSize

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
        return w.bytes
    }

    /// The signed part (prefix + body) and the full slot image; the MAC is computed by the caller.
    static func signedBytes(body: [UInt8], generation: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Layout.magic)
        w.u16(Layout.version)
        w.u16(0)
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
        guard try r.u16("flags") == 0 else { throw ContainerError.corruptHeader("unknown flags") }
        let generation = try r.u64("generation")
        let bodyLength = Int(try r.u32("body length"))
        guard bodyLength <= maxBody else { throw ContainerError.corruptHeader("body length \(bodyLength)") }
        let bodyStart = r.position
        let body = Array(try r.take(bodyLength, "body"))
        let mac = Array(try r.take(macSize, "mac"))
        guard slot[r.position...].allSatisfy({ $0 == 0 }) else { throw ContainerError.corruptHeader("slot padding is not zero") }

        var b = ByteReader(body)
        let fileId = Array(try b.take(16, "file id"))
        guard try b.u32("block size") == UInt32(Layout.blockSize) else { throw ContainerError.corruptHeader("block size") }
        guard let label = String(validating: try b.shortBytes("label"), as: UTF8.self), !label.isEmpty else {
            throw ContainerError.corruptHeader("label id")
        }
        let keyVersion = try b.u32("label key version")
        let wrapped = try b.shortBytes("wrapped key")
        guard wrapped.count == AESGCM.overhead + 32 else { throw ContainerError.corruptHeader("wrapped key length") }
        let owner = try b.u32("owner")
        let labeledAt = try b.i64("labeled at")
        guard let method = LabelingMethod(rawValue: try b.u8("method")) else { throw ContainerError.corruptHeader("labeling method") }
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
            grants.append(Grant(identity: who, rights: rights, expiry: gexp == 0 ? nil : gexp, shareId: share, recipientWrappedKey: rw))
        }
        guard b.remaining == 0 else { throw ContainerError.corruptHeader("trailing bytes in body") }
        let fields = HeaderFields(fileId: fileId, labelId: label, labelKeyVersion: keyVersion, ownerUid: owner,
                                  labeledAt: labeledAt, method: method, expiry: expiry == 0 ? nil : expiry, grants: grants)
        return (HeaderSlot(fields: fields, wrappedKey: wrapped, generation: generation, mac: mac),
                Array(slot[0..<(bodyStart + bodyLength)]))
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
