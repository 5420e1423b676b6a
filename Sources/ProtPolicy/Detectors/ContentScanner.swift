import Foundation

/// Runs a set of detectors over a stream fed in chunks of any size and reports a count per detector,
/// never the matched text. Results do not depend on how the stream is cut: every detector decides a match
/// from a bounded window around its anchor byte, and the scanner only judges anchors whose whole window
/// has arrived (the rest wait for the next chunk or for `finish`).
public final class ContentScanner {
    public let definitions: [DetectorDefinition]
    private var counts: [Int]
    private var builtinIndex: [BuiltinDetector: Int] = [:]
    private var keywords = KeywordTable()
    private var regexes: [(index: Int, re: NSRegularExpression, resume: Int)] = []
    private var triggers = [UInt8](repeating: 0, count: 256)
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var committed = 0
    private let margin: Int
    public private(set) var bytesScanned = 0

    static let leftContext = 128
    static let builtinReach = 320   // the longest lookahead of a built-in (an email domain)

    private static let tDigit: UInt8 = 1, tAt: UInt8 = 2, tDash: UInt8 = 4, tUpperA: UInt8 = 8, tKeyword: UInt8 = 16

    public init(_ definitions: [DetectorDefinition] = DetectorDefinition.builtins) throws {
        self.definitions = definitions
        counts = Array(repeating: 0, count: definitions.count)
        var reach = Self.builtinReach
        for (i, d) in definitions.enumerated() {
            switch d.kind {
            case .builtin(let b):
                builtinIndex[b] = i
                switch b {
                case .creditCard, .iban, .usSSN: for c in UInt8(ascii: "0")...UInt8(ascii: "9") { triggers[Int(c)] |= Self.tDigit }
                case .email: triggers[Int(UInt8(ascii: "@"))] |= Self.tAt
                case .privateKey: triggers[Int(UInt8(ascii: "-"))] |= Self.tDash
                case .awsAccessKey: triggers[Int(UInt8(ascii: "A"))] |= Self.tUpperA
                }
            case .keywords(let words):
                for w in words { keywords.add(w, detector: i) }
            case .regex(let pattern, let maxLength):
                regexes.append((i, try NSRegularExpression(pattern: pattern), 0))
                reach = max(reach, maxLength + 1)
            }
        }
        for b in 0..<256 where !keywords.byFirst[b].isEmpty {
            triggers[b] |= Self.tKeyword
            if b >= 0x61 && b <= 0x7A { triggers[b - 0x20] |= Self.tKeyword }
        }
        margin = max(reach, keywords.maxLength + 1)
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
        let to = final ? end : end - margin
        guard to > committed else { return }
        buffer.withUnsafeBufferPointer { b in
            let w = Window(p: b.baseAddress!, n: b.count)
            scanBuiltins(w, from: committed - bufferStart, to: to - bufferStart)
        }
        if !regexes.isEmpty { scanRegexes(from: committed, to: to) }
        committed = to
        let keepFrom = max(bufferStart, committed - Self.leftContext)
        buffer.removeFirst(keepFrom - bufferStart)
        bufferStart = keepFrom
    }

    private func scanBuiltins(_ w: Window, from: Int, to: Int) {
        let card = builtinIndex[.creditCard], ssn = builtinIndex[.usSSN], iban = builtinIndex[.iban]
        let email = builtinIndex[.email], pem = builtinIndex[.privateKey], aws = builtinIndex[.awsAccessKey]
        let hasKeywords = !keywords.isEmpty
        triggers.withUnsafeBufferPointer { trig in
            let p = w.p
            var i = from
            while i < to {
                let t = trig[Int(p[i])]
                if t == 0 { i += 1; continue }
                if t & Self.tDigit != 0 && !w.isDigit(i - 1) {
                    if let k = card, PaymentCard.match(w, at: i) { counts[k] += 1 }
                    if let k = ssn, SSN.match(w, at: i) { counts[k] += 1 }
                    if let k = iban, IBAN.match(w, at: i) { counts[k] += 1 }
                }
                if t & Self.tAt != 0, let k = email, Email.match(w, at: i) { counts[k] += 1 }
                if t & Self.tDash != 0, let k = pem, PrivateKey.match(w, at: i) { counts[k] += 1 }
                if t & Self.tUpperA != 0, let k = aws, AWSKey.match(w, at: i) { counts[k] += 1 }
                if hasKeywords && t & Self.tKeyword != 0 && !w.isAlnum(i - 1) { keywords.match(w, at: i, counts: &counts) }
                i += 1
            }
        }
    }

    /// Regular expressions run over the window as Latin-1 text, so character offsets equal byte offsets.
    private func scanRegexes(from: Int, to: Int) {
        guard let text = String(bytes: buffer, encoding: .isoLatin1) else { return }
        let ns = text as NSString
        for r in regexes.indices {
            let start = max(from, regexes[r].resume) - bufferStart
            guard start < buffer.count else { continue }
            let limit = to - bufferStart
            regexes[r].re.enumerateMatches(in: text, range: NSRange(location: start, length: ns.length - start)) { m, _, stop in
                guard let m, m.range.length > 0 else { return }
                if m.range.location >= limit { stop.pointee = true; return }
                self.counts[self.regexes[r].index] += 1
                self.regexes[r].resume = self.bufferStart + m.range.location + m.range.length
            }
        }
    }
}
