/// Byte classification tables shared by the detectors (ASCII only; other bytes are never part of a match).
enum ByteClass {
    static let digit: UInt8 = 1, upper: UInt8 = 2, lower: UInt8 = 4, emailLocal: UInt8 = 8, domain: UInt8 = 16

    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] |= digit | emailLocal | domain }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] |= upper | emailLocal | domain }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] |= lower | emailLocal | domain }
        for c in "._%+-".utf8 { t[Int(c)] |= emailLocal }
        t[Int(UInt8(ascii: "-"))] |= domain
        return t
    }()
}

/// Bounds-aware view of the scan window: reads outside it return 0 (a non-word byte), which is how
/// the start and end of the stream act as boundaries.
struct Window {
    let p: UnsafePointer<UInt8>
    let n: Int

    @inline(__always) subscript(i: Int) -> UInt8 { (i >= 0 && i < n) ? p[i] : 0 }
    @inline(__always) func cls(_ i: Int) -> UInt8 { ByteClass.table[Int(self[i])] }
    @inline(__always) func isDigit(_ i: Int) -> Bool { cls(i) & ByteClass.digit != 0 }
    @inline(__always) func isAlnum(_ i: Int) -> Bool { cls(i) & (ByteClass.digit | ByteClass.upper | ByteClass.lower) != 0 }
    @inline(__always) func isUpper(_ i: Int) -> Bool { cls(i) & ByteClass.upper != 0 }

    func hasPrefix(_ s: [UInt8], at i: Int) -> Bool {
        guard i >= 0, i + s.count <= n else { return false }
        for k in 0..<s.count where p[i + k] != s[k] { return false }
        return true
    }
}
