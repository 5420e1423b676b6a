import CAnchorScan

/// Decides, exactly, whether a position starts a match of one of the built-in detectors or keywords and counts it.
/// Both the scalar loop and the vector pre-filter's candidates go through `judge`, so the counts do not depend
/// on which ran.
struct AnchorJudge {
    let w: Window
    let keywords: KeywordTable
    var counts: [Int]
    var trig: UnsafePointer<UInt8>! = nil
    var follow: UnsafePointer<UInt8>! = nil
    let card: Int, ssn: Int, iban: Int, email: Int, pem: Int, aws: Int

    init(w: Window, detectors: DetectorSet, counts: [Int]) {
        self.w = w
        self.keywords = detectors.keywords
        self.counts = counts
        let bi = detectors.builtinIndex
        card = bi[.creditCard] ?? -1; ssn = bi[.usSSN] ?? -1; iban = bi[.iban] ?? -1
        email = bi[.email] ?? -1; pem = bi[.privateKey] ?? -1; aws = bi[.awsAccessKey] ?? -1
    }

    /// The trigger bits at `i`: which detectors can start there, from the byte before, the byte and the byte after.
    @inline(__always) func trigger(_ i: Int) -> UInt8 {
        let c = Int(w[i])
        return trig[Int(w[i - 1]) << 8 | c] & follow[c << 8 | Int(w[i + 1])]
    }

    @inline(__always) mutating func judge(_ i: Int) {
        let t = trigger(i)
        if t != 0 { handle(i, t) }
    }

    /// One table lookup per byte; used where the vector pre-filter cannot run.
    mutating func scalarScan(from: Int, to: Int) {
        var i = from
        var prev = Int(w[from - 1]), c = Int(w[from])
        while i < to {
            let next = Int(w[i + 1])
            let t = trig[prev << 8 | c] & follow[c << 8 | next]
            prev = c
            c = next
            if t != 0 { handle(i, t) }
            i += 1
        }
    }

    @inline(__always) mutating func handle(_ i: Int, _ t: UInt8) {
        if t & DetectorSet.tDigit != 0 {
            if iban >= 0 && w.isUpper(i - 1) {
                if IBAN.match(w, at: i) { counts[iban] += 1 }
            } else if w.isDigit(i + 1) && w.isDigit(i + 2) {
                let s3 = w[i + 3]
                if ssn >= 0 && (s3 == 0x2D || s3 == 0x20) && SSN.match(w, at: i) { counts[ssn] += 1 }
                if card >= 0 && PaymentCard.couldStart(w, at: i) && PaymentCard.match(w, at: i) { counts[card] += 1 }
            }
        }
        if t & (DetectorSet.tAt | DetectorSet.tDash | DetectorSet.tUpperA | DetectorSet.tKeyword) != 0 { rare(i, t) }
    }

    /// The rarer anchors, out of line to keep the hot loop small.
    @inline(never)
    mutating func rare(_ i: Int, _ t: UInt8) {
        if t & DetectorSet.tAt != 0 && email >= 0 && Email.match(w, at: i) { counts[email] += 1 }
        if t & DetectorSet.tDash != 0 && pem >= 0 && PrivateKey.match(w, at: i) { counts[pem] += 1 }
        if t & DetectorSet.tUpperA != 0 && aws >= 0 && AWSKey.match(w, at: i) { counts[aws] += 1 }
        if t & DetectorSet.tKeyword != 0 { keywords.match(w, at: i, counts: &counts) }
    }
}
