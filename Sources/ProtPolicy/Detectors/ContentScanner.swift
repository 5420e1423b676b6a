import Foundation
import CAnchorScan

/// A compiled, immutable set of detectors: the trigger tables are built once and shared by every scan
/// (the mount starts one scan per file written). Unchecked: every field is immutable after init; the regexes
/// (NSRegularExpression, not marked Sendable) are documented safe to match from several threads, and the
/// vector tables are read-only C memory.
public final class DetectorSet: @unchecked Sendable {
    public let definitions: [DetectorDefinition]
    let builtinIndex: [BuiltinDetector: Int]
    let keywords: KeywordTable
    let regexes: [(index: Int, re: NSRegularExpression)]
    /// Trigger bits by (previous byte, byte): anchors are only where a match can start (a digit after a non-digit,
    /// a keyword's first letter after a non-word byte...), so most bytes cost one table lookup.
    let triggers: [UInt8]
    /// Trigger bits by (byte, next byte), ANDed with `triggers`: every detector needs a particular second byte
    /// (a second digit, a domain character after '@', a keyword's second letter), which removes most anchors
    /// before they cost a branch.
    let follow: [UInt8]
    /// The vector pre-filter's tables, when this CPU has it and every keyword starts with a letter.
    let vectorTables: protfs_anchor_tables?
    let margin: Int

    static let builtinReach = 320  // the longest lookahead of a built-in (an email domain)
    static let tDigit: UInt8 = 1, tAt: UInt8 = 2, tDash: UInt8 = 4, tUpperA: UInt8 = 8, tKeyword: UInt8 = 16

    public convenience init(_ definitions: [DetectorDefinition] = DetectorDefinition.builtins) throws {
        try self.init(definitions, vector: true)
    }

    /// `vector: false` keeps the scalar loop even where the pre-filter could run (tests compare the two).
    init(_ definitions: [DetectorDefinition], vector: Bool) throws {
        self.definitions = definitions
        var reach = Self.builtinReach
        var firstByte = [UInt8](repeating: 0, count: 256)
        var builtinIndex: [BuiltinDetector: Int] = [:]
        var keywords = KeywordTable()
        var regexes: [(index: Int, re: NSRegularExpression)] = []
        for (i, d) in definitions.enumerated() {
            switch d.kind {
            case .builtin(let b):
                builtinIndex[b] = i
                switch b {
                case .creditCard, .iban, .usSSN:
                    for c in UInt8(ascii: "0")...UInt8(ascii: "9") { firstByte[Int(c)] |= DetectorSet.tDigit }
                case .email: firstByte[Int(UInt8(ascii: "@"))] |= DetectorSet.tAt
                case .privateKey: firstByte[Int(UInt8(ascii: "-"))] |= DetectorSet.tDash
                case .awsAccessKey: firstByte[Int(UInt8(ascii: "A"))] |= DetectorSet.tUpperA
                }
            case .keywords(let words):
                for w in words { keywords.add(w, detector: i) }
            case .regex(let pattern, let maxLength):
                regexes.append((i, try NSRegularExpression(pattern: pattern)))
                reach = max(reach, maxLength + 1)
            }
        }
        for b in 0..<256 where keywords.hasEntries(first: b) {
            firstByte[b] |= DetectorSet.tKeyword
            if b >= 0x61 && b <= 0x7A { firstByte[b - 0x20] |= DetectorSet.tKeyword }
        }
        let cls = ByteClass.pointer
        let word = ByteClass.digit | ByteClass.upper | ByteClass.lower
        var triggers = [UInt8](repeating: 0, count: 65_536)
        for prev in 0..<256 {
            let prevDigit = cls[prev] & ByteClass.digit != 0, prevWord = cls[prev] & word != 0
            for c in 0..<256 {
                var t = firstByte[c]
                if prevDigit { t &= ~DetectorSet.tDigit }
                if prevWord { t &= ~(DetectorSet.tKeyword | DetectorSet.tUpperA) }
                if prev == 0x2D { t &= ~DetectorSet.tDash }
                triggers[prev << 8 | c] = t
            }
        }
        var follow = [UInt8](repeating: 0, count: 65_536)
        for c in 0..<256 {
            for next in 0..<256 {
                let n = cls[next]
                var t: UInt8 = 0
                if n & ByteClass.digit != 0 { t |= DetectorSet.tDigit }
                if n & ByteClass.domain != 0 { t |= DetectorSet.tAt }
                if next == 0x2D { t |= DetectorSet.tDash }
                if n & ByteClass.upper != 0 { t |= DetectorSet.tUpperA }
                if keywords.pairs[Int(KeywordTable.lower(UInt8(c))) << 8 | next] { t |= DetectorSet.tKeyword }
                follow[c << 8 | next] = t
            }
        }
        self.builtinIndex = builtinIndex
        self.follow = follow
        self.keywords = keywords
        self.regexes = regexes
        self.triggers = triggers
        vectorTables = vector ? Self.makeVectorTables(firstByte: firstByte, keywords: keywords) : nil
        margin = max(reach, keywords.maxLength + 1)
    }
}

extension DetectorSet {
    static func makeVectorTables(firstByte: [UInt8], keywords: KeywordTable) -> protfs_anchor_tables? {
        guard protfs_anchor_scan_available() != 0 else { return nil }
        var t = protfs_anchor_tables()
        func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        // A letter's set entry is indexed by its low five bits (the same for both cases), split over two
        // 16-byte tables (the C side's byte shuffles look up 16 entries at a time).
        func mark<Table>(_ lo: inout Table, _ hi: inout Table, _ b: UInt8) {
            let k = Int(b & 0x1F)
            if k < 16 {
                withUnsafeMutableBytes(of: &lo) { $0[k] = 0xFF }
            } else {
                withUnsafeMutableBytes(of: &hi) { $0[k - 16] = 0xFF }
            }
        }
        for (first, second) in keywords.prefixes {
            guard isLetter(first) else { return nil }  // the letter-set lookup covers letters only
            mark(&t.firstLo, &t.firstHi, first)
            if let second, isLetter(second) { mark(&t.secondLo, &t.secondHi, second) } else { t.anySecond = 1 }
        }
        t.digits = firstByte[0x30] & tDigit != 0 ? 1 : 0
        t.at = firstByte[0x40] & tAt != 0 ? 1 : 0
        t.dash = firstByte[0x2D] & tDash != 0 ? 1 : 0
        t.upperA = firstByte[0x41] & tUpperA != 0 ? 1 : 0
        t.keywords = keywords.isEmpty ? 0 : 1
        return t
    }
}

/// Runs a set of detectors over a stream fed in chunks of any size and reports a count per detector,
/// never the matched text. Results do not depend on how the stream is cut: every detector decides a match
/// from a bounded window around its anchor byte, and the scanner only judges anchors whose whole window
/// has arrived (the rest wait for the next chunk or for `finish`).
public final class ContentScanner {
    public let detectors: DetectorSet
    public var definitions: [DetectorDefinition] { detectors.definitions }
    private var counts: [Int]
    /// Where each regex resumes, so matches are never counted twice across chunks.
    private var regexResume: [Int]
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var committed = 0
    public private(set) var bytesScanned = 0

    static let leftContext = 128

    public init(_ detectors: DetectorSet) {
        self.detectors = detectors
        counts = Array(repeating: 0, count: detectors.definitions.count)
        regexResume = Array(repeating: 0, count: detectors.regexes.count)
    }

    public convenience init(_ definitions: [DetectorDefinition] = DetectorDefinition.builtins) throws {
        self.init(try DetectorSet(definitions))
    }

    public func feed(_ chunk: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: chunk)
        bytesScanned += chunk.count
        process(final: false)
    }

    public func feed(_ chunk: [UInt8]) { chunk.withUnsafeBytes { feed($0) } }

    /// Scans what is left and returns the count per detector id (detectors with no match are omitted).
    public func finish() -> [String: Int] {
        process(final: true)
        var out: [String: Int] = [:]
        for (i, d) in definitions.enumerated() where counts[i] > 0 { out[d.id, default: 0] += counts[i] }
        return out
    }

    private func process(final: Bool) {
        let end = bufferStart + buffer.count
        let to = final ? end : end - detectors.margin
        guard to > committed else { return }
        buffer.withUnsafeBufferPointer { b in
            let w = Window(p: b.baseAddress!, n: b.count)
            scanBuiltins(w, from: committed - bufferStart, to: to - bufferStart)
        }
        if !detectors.regexes.isEmpty { scanRegexes(from: committed, to: to) }
        committed = to
        let keepFrom = max(bufferStart, committed - Self.leftContext)
        buffer.removeFirst(keepFrom - bufferStart)
        bufferStart = keepFrom
    }

    private func scanBuiltins(_ w: Window, from: Int, to: Int) {
        var judge = AnchorJudge(w: w, detectors: detectors, counts: counts)
        detectors.triggers.withUnsafeBufferPointer { trig in
            detectors.follow.withUnsafeBufferPointer { follow in
                judge.trig = trig.baseAddress!; judge.follow = follow.baseAddress!
                if var tables = detectors.vectorTables {
                    Self.vectorScan(&judge, &tables, from: from, to: to)
                } else {
                    judge.scalarScan(from: from, to: to)
                }
            }
        }
        counts = judge.counts
    }

    private static func vectorScan(_ judge: inout AnchorJudge, _ tables: inout protfs_anchor_tables, from: Int, to: Int)
    {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4096) { out in
            var i = from
            while i < to {
                let slabEnd = min(to, i + (1 << 30))
                var resume = 0
                let n = protfs_anchor_scan(
                    judge.w.p, judge.w.n, i, slabEnd, &tables, out.baseAddress!, out.count, &resume)
                for k in 0..<n { judge.judge(i + Int(out[k])) }
                i = resume
            }
        }
    }

    /// Regular expressions run over the window as Latin-1 text, so character offsets equal byte offsets.
    private func scanRegexes(from: Int, to: Int) {
        guard let text = String(bytes: buffer, encoding: .isoLatin1) else { return }
        let ns = text as NSString
        for (r, regex) in detectors.regexes.enumerated() {
            let start = max(from, regexResume[r]) - bufferStart
            guard start < buffer.count else { continue }
            let limit = to - bufferStart
            regex.re.enumerateMatches(in: text, range: NSRange(location: start, length: ns.length - start)) {
                m, _, stop in
                guard let m, m.range.length > 0 else { return }
                if m.range.location >= limit { stop.pointee = true; return }
                self.counts[regex.index] += 1
                self.regexResume[r] = self.bufferStart + m.range.location + m.range.length
            }
        }
    }
}
