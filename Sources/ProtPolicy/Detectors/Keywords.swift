/// Keyword lists: case-insensitive (ASCII), whole words, every keyword of every list in one pass.
/// Candidates are found by their first byte at a word start, then compared in place.
struct KeywordTable {
    struct Entry { let bytes: [UInt8]; let detector: Int }
    private(set) var byFirst: [[Entry]] = Array(repeating: [], count: 256)

    var isEmpty: Bool { byFirst.allSatisfy(\.isEmpty) }
    var maxLength: Int { byFirst.flatMap { $0 }.map(\.bytes.count).max() ?? 0 }

    mutating func add(_ keyword: String, detector: Int) {
        let lower = Array(keyword.utf8).map(Self.lower)
        guard let f = lower.first else { return }
        byFirst[Int(f)].append(Entry(bytes: lower, detector: detector))
        byFirst[Int(f)].sort { $0.bytes.count > $1.bytes.count }
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    /// `i` is a word start whose lowercased byte has entries; counts each list at most once per position.
    func match(_ w: Window, at i: Int, counts: inout [Int]) {
        var seen: Int = -1
        for e in byFirst[Int(Self.lower(w[i]))] where e.detector != seen {
            let n = e.bytes.count
            guard i + n <= w.n else { continue }
            var ok = true
            for k in 1..<max(n, 1) where Self.lower(w.p[i + k]) != e.bytes[k] { ok = false; break }
            if ok && !w.isAlnum(i + n) {
                counts[e.detector] += 1
                seen = e.detector
            }
        }
    }
}
