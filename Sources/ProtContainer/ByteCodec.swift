/// Big-endian encoding with bounds-checked decoding: every length read from disk is validated before use.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) {
        for s in stride(from: 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt16(s))) }
    }
    mutating func u32(_ v: UInt32) {
        for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }
    mutating func u64(_ v: UInt64) {
        for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func shortBytes(_ b: [UInt8]) { precondition(b.count <= 255); u8(UInt8(b.count)); raw(b) }
    mutating func mediumBytes(_ b: [UInt8]) { precondition(b.count <= 0xffff); u16(UInt16(b.count)); raw(b) }
}

struct ByteReader {
    let bytes: [UInt8]
    private(set) var position: Int

    init(_ bytes: [UInt8], from position: Int = 0) { self.bytes = bytes; self.position = position }

    var remaining: Int { bytes.count - position }

    mutating func take(_ n: Int, _ field: String) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw ContainerError.corruptHeader("\(field) runs past the end") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    mutating func u8(_ f: String) throws -> UInt8 { try take(1, f).first! }
    mutating func u16(_ f: String) throws -> UInt16 { try take(2, f).reduce(0) { $0 << 8 | UInt16($1) } }
    mutating func u32(_ f: String) throws -> UInt32 { try take(4, f).reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func u64(_ f: String) throws -> UInt64 { try take(8, f).reduce(0) { $0 << 8 | UInt64($1) } }
    mutating func i64(_ f: String) throws -> Int64 { Int64(bitPattern: try u64(f)) }
    mutating func shortBytes(_ f: String) throws -> [UInt8] { Array(try take(Int(try u8(f)), f)) }
    mutating func mediumBytes(_ f: String) throws -> [UInt8] { Array(try take(Int(try u16(f)), f)) }
}

extension Array where Element == UInt8 {
    static func bigEndian(_ v: UInt64) -> [UInt8] { var w = ByteWriter(); w.u64(v); return w.bytes }
}
