/// Keyword lists: case-insensitive (ASCII), whole words, every keyword of every list in one pass.
/// Candidates are found by their first byte at a word start, then compared in place against a flat pool.
struct KeywordTable {
    /// All keywords, lowercased, back to back.
    private var pool: [UInt8] = []
    /// Entries sorted by first byte, longest first: (offset in pool, length, detector).
    private var entries: [(Int, Int, Int)] = []
    /// For each first byte: the range of its entries.
    private var start = [Int](repeating: 0, count: 257)

    /// (first, second) lowercased byte pairs that begin some keyword; single-byte keywords mark every second byte.
    private(set) var pairs = [Bool](repeating: false, count: 65_536)

    var isEmpty: Bool { pool.isEmpty }
    /// The lowercased first byte of each keyword and its second byte (nil for one-byte keywords).
    var prefixes: [(first: UInt8, second: UInt8?)] { entries.map { (pool[$0.0], $0.1 > 1 ? pool[$0.0 + 1] : nil) } }
    var maxLength: Int { entries.map(\.1).max() ?? 0 }
    func hasEntries(first b: Int) -> Bool { start[b + 1] > start[b] }

    mutating func add(_ keyword: String, detector: Int) {
        let lower = Array(keyword.utf8).map(Self.lower)
        guard !lower.isEmpty else { return }
        entries.append((pool.count, lower.count, detector))
        let f = Int(lower[0])
        if lower.count == 1 {
            for b in 0..<256 { pairs[f << 8 | b] = true }
        } else {
            let sec = Int(lower[1])
            pairs[f << 8 | sec] = true
            if sec >= 0x61 && sec <= 0x7A { pairs[f << 8 | (sec - 0x20)] = true }
        }
        pool += lower
        let p = pool
        entries.sort { (p[$0.0], $1.1) < (p[$1.0], $0.1) }
        start = [Int](repeating: 0, count: 257)
        for e in entries { start[Int(p[e.0]) + 1] += 1 }
        for b in 0..<256 { start[b + 1] += start[b] }
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    /// `i` is a word start whose lowercased byte has entries; counts each list at most once per position.
    func match(_ w: Window, at i: Int, counts: inout [Int]) {
        let f = Int(Self.lower(w[i]))
        guard pairs[f << 8 | Int(w[i + 1])] else { return }
        pool.withUnsafeBufferPointer { pool in
            entries.withUnsafeBufferPointer { entries in
                var seen = -1
                for e in start[f]..<start[f + 1] {
                    let (off, n, det) = entries[e]
                    guard det != seen, i + n <= w.n else { continue }
                    var k = 1
                    while k < n && Self.lower(w.p[i + k]) == pool[off + k] { k += 1 }
                    if k == n && !w.isAlnum(i + n) {
                        counts[det] += 1
                        seen = det
                    }
                }
            }
        }
    }
}
