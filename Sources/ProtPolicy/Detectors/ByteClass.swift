/// Byte classification tables shared by the detectors (ASCII only; other bytes are never part of a match).
enum ByteClass {
    static let digit: UInt8 = 1, upper: UInt8 = 2, lower: UInt8 = 4, emailLocal: UInt8 = 8, domain: UInt8 = 16

    /// Allocated once and never freed, so the hot loop holds a plain pointer (no global accessor per byte).
    /// Written only by this initializer, read-only after: safe to share.
    nonisolated(unsafe) static let pointer: UnsafePointer<UInt8> = {
        let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        t.initialize(repeating: 0, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] |= digit | emailLocal | domain }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] |= upper | emailLocal | domain }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] |= lower | emailLocal | domain }
        for c in "._%+-".utf8 { t[Int(c)] |= emailLocal }
        t[Int(UInt8(ascii: "-"))] |= domain
        return UnsafePointer(t)
    }()
}

/// Bounds-aware view of the scan window: reads outside it return 0 (a non-word byte), which is how
/// the start and end of the stream act as boundaries.
struct Window {
    let p: UnsafePointer<UInt8>
    let n: Int
    let table: UnsafePointer<UInt8>

    init(p: UnsafePointer<UInt8>, n: Int, table: UnsafePointer<UInt8> = ByteClass.pointer) {
        self.p = p; self.n = n; self.table = table
    }

    @inline(__always) subscript(i: Int) -> UInt8 { UInt(bitPattern: i) < UInt(bitPattern: n) ? p[i] : 0 }
    @inline(__always) func cls(_ i: Int) -> UInt8 { table[Int(self[i])] }
    @inline(__always) func isDigit(_ i: Int) -> Bool { cls(i) & ByteClass.digit != 0 }
    @inline(__always) func isAlnum(_ i: Int) -> Bool {
        cls(i) & (ByteClass.digit | ByteClass.upper | ByteClass.lower) != 0
    }
    @inline(__always) func isUpper(_ i: Int) -> Bool { cls(i) & ByteClass.upper != 0 }

    @inline(__always) func hasPrefix(_ s: StaticString, at i: Int) -> Bool {
        let len = s.utf8CodeUnitCount
        guard i >= 0, i + len <= n else { return false }
        let q = s.utf8Start
        for k in 0..<len where p[i + k] != q[k] { return false }
        return true
    }
}
