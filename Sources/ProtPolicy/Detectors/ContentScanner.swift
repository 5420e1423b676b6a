import Foundation

/// Runs a set of detectors over a stream fed in chunks of any size and reports a count per detector,
/// never the matched text. Results do not depend on how the stream is cut: every detector decides a match
/// from a bounded window around its anchor byte, and the scanner only judges anchors whose whole window
/// has arrived (the rest wait for the next chunk or for `finish`).
/// A compiled, immutable set of detectors: the trigger tables are built once and shared by every scan
/// (the mount starts one scan per file written).
public final class DetectorSet: @unchecked Sendable {
    public let definitions: [DetectorDefinition]
    let builtinIndex: [BuiltinDetector: Int]
    let keywords: KeywordTable
    let regexes: [(index: Int, re: NSRegularExpression)]
    /// Trigger bits by (previous byte, byte): anchors are only where a match can start (a digit after a non-digit,
    /// a keyword's first letter after a non-word byte...), so most bytes cost one table lookup.
    let triggers: [UInt8]
    let margin: Int

    static let builtinReach = 320   // the longest lookahead of a built-in (an email domain)
    static let tDigit: UInt8 = 1, tAt: UInt8 = 2, tDash: UInt8 = 4, tUpperA: UInt8 = 8, tKeyword: UInt8 = 16

    public init(_ definitions: [DetectorDefinition] = DetectorDefinition.builtins) throws {
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
                case .creditCard, .iban, .usSSN: for c in UInt8(ascii: "0")...UInt8(ascii: "9") { firstByte[Int(c)] |= DetectorSet.tDigit }
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
        self.builtinIndex = builtinIndex
        self.keywords = keywords
        self.regexes = regexes
        self.triggers = triggers
        margin = max(reach, keywords.maxLength + 1)
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

    private struct Slots {
        var card = -1, ssn = -1, iban = -1, email = -1, pem = -1, aws = -1
    }

    private func scanBuiltins(_ w: Window, from: Int, to: Int) {
        var slots = Slots()
        let bi = detectors.builtinIndex
        slots.card = bi[.creditCard] ?? -1; slots.ssn = bi[.usSSN] ?? -1; slots.iban = bi[.iban] ?? -1
        slots.email = bi[.email] ?? -1; slots.pem = bi[.privateKey] ?? -1; slots.aws = bi[.awsAccessKey] ?? -1
        // Local copies: no exclusivity checks or retains on the class's storage inside the per-byte loop.
        var counts = self.counts
        let keywords = detectors.keywords
        detectors.triggers.withUnsafeBufferPointer { trigBuf in
            let trig = trigBuf.baseAddress!
            let p = w.p
            var i = from
            var prev = Int(w[from - 1])
            while i < to {
                // The hot loop only finds the next anchor; all the work happens out of line.
                let c = Int(p[i])
                let t = trig[prev << 8 | c]
                prev = c
                if t != 0 {
                    if t & DetectorSet.tDigit != 0 {
                        if slots.iban >= 0 && w.isUpper(i - 1) {
                            if IBAN.match(w, at: i) { counts[slots.iban] += 1 }
                        } else if w.isDigit(i + 1) && w.isDigit(i + 2) {
                            let s3 = w[i + 3]
                            if slots.ssn >= 0 && (s3 == 0x2D || s3 == 0x20) && SSN.match(w, at: i) { counts[slots.ssn] += 1 }
                            if slots.card >= 0 && PaymentCard.couldStart(w, at: i) && PaymentCard.match(w, at: i) { counts[slots.card] += 1 }
                        }
                    }
                    if t & (DetectorSet.tAt | DetectorSet.tDash | DetectorSet.tUpperA | DetectorSet.tKeyword) != 0 { Self.anchor(w, i, t, slots, keywords, &counts) }
                }
                i += 1
            }
        }
        self.counts = counts
    }

    /// The rarer anchors, out of line to keep the hot loop small.
    @inline(never)
    private static func anchor(_ w: Window, _ i: Int, _ t: UInt8, _ s: Slots, _ keywords: KeywordTable, _ counts: inout [Int]) {
        if t & DetectorSet.tAt != 0 && s.email >= 0 && Email.match(w, at: i) { counts[s.email] += 1 }
        if t & DetectorSet.tDash != 0 && s.pem >= 0 && PrivateKey.match(w, at: i) { counts[s.pem] += 1 }
        if t & DetectorSet.tUpperA != 0 && s.aws >= 0 && AWSKey.match(w, at: i) { counts[s.aws] += 1 }
        if t & DetectorSet.tKeyword != 0 { keywords.match(w, at: i, counts: &counts) }
    }

    /// Regular expressions run over the window as Latin-1 text, so character offsets equal byte offsets.
    private func scanRegexes(from: Int, to: Int) {
        guard let text = String(bytes: buffer, encoding: .isoLatin1) else { return }
        let ns = text as NSString
        for (r, regex) in detectors.regexes.enumerated() {
            let start = max(from, regexResume[r]) - bufferStart
            guard start < buffer.count else { continue }
            let limit = to - bufferStart
            regex.re.enumerateMatches(in: text, range: NSRange(location: start, length: ns.length - start)) { m, _, stop in
                guard let m, m.range.length > 0 else { return }
                if m.range.location >= limit { stop.pointee = true; return }
                self.counts[regex.index] += 1
                self.regexResume[r] = self.bufferStart + m.range.location + m.range.length
            }
        }
    }
}
