/// Payment card numbers: 13-19 digits, optionally grouped by single spaces or dashes (one kind per number),
/// a known issuer prefix and length, a valid Luhn check, and not part of a longer digit run.
enum PaymentCard {
    /// A cheap, exact pre-filter: 13 digits with single separators between them span at least 13 bytes
    /// of digits and separators, so bytes i+6 and i+12 must be one of those.
    @inline(__always)
    static func couldStart(_ w: Window, at i: Int) -> Bool {
        let a = w[i + 6], b = w[i + 12]
        return (a &- 0x30 < 10 || a == 0x20 || a == 0x2D) && (b &- 0x30 < 10 || b == 0x20 || b == 0x2D)
    }

    /// `i` starts a digit run (the byte before it is not a digit).
    @inline(__always)
    static func match(_ w: Window, at i: Int) -> Bool {
        if w.isAlnum(i - 1) { return false }
        let before = w[i - 1]
        if (before == 0x20 || before == 0x2D) && w.isDigit(i - 2) { return false }  // inside a grouped run
        // Luhn doubles every second digit from the right; without knowing the length yet, keep both sums.
        var sumEven = 0, sumOdd = 0, count = 0, prefix = 0, j = i
        var sep: UInt8 = 0
        while true {
            let b = w[j]
            let d = Int(b &- 0x30)
            if d < 10 {
                if count == 19 { return false }
                let doubled = d * 2 > 9 ? d * 2 - 9 : d * 2
                if count & 1 == 0 { sumEven += doubled; sumOdd += d } else { sumEven += d; sumOdd += doubled }
                if count < 4 { prefix = prefix * 10 + d }
                count += 1; j += 1
            } else if (b == 0x20 || b == 0x2D) && count > 0 && w.isDigit(j + 1) {
                if sep == 0 { sep = b } else if sep != b { return false }
                j += 1
            } else {
                break
            }
        }
        guard count >= 13, !w.isAlnum(j), issuerAccepts(prefix4: prefix, length: count) else { return false }
        // With an odd count the leftmost digit is not doubled: positions 1, 3, ... from the left are.
        return (count & 1 == 0 ? sumEven : sumOdd) % 10 == 0
    }

    static func issuerAccepts(prefix4 p4: Int, length n: Int) -> Bool {
        let p1 = p4 / 1000, p2 = p4 / 100, p3 = p4 / 10
        if p1 == 4 { return n == 13 || n == 16 || n == 19 }  // Visa
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return n == 16 }  // Mastercard
        if p2 == 34 || p2 == 37 { return n == 15 }  // American Express
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 { return n >= 16 }  // Discover
        if (3528...3589).contains(p4) { return n >= 16 }  // JCB
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 { return n >= 14 }  // Diners Club
        if p2 == 62 { return n >= 16 }  // UnionPay
        if p2 == 50 || (56...58).contains(p2) || p2 == 63 || p2 == 67 { return n >= 13 }  // Maestro
        return false
    }
}
