/// Payment card numbers: 13-19 digits, optionally grouped by single spaces or dashes (one kind per number),
/// a known issuer prefix and length, a valid Luhn check, and not part of a longer digit run.
enum PaymentCard {
    /// `i` starts a digit run (the byte before it is not a digit).
    static func match(_ w: Window, at i: Int) -> Bool {
        if w.isAlnum(i - 1) { return false }
        let before = w[i - 1]
        if (before == 0x20 || before == 0x2D) && w.isDigit(i - 2) { return false }   // inside a grouped run
        var digits = [UInt8](repeating: 0, count: 20)
        var count = 0, j = i
        var sep: UInt8 = 0
        while true {
            let b = w[j]
            if b &- 0x30 < 10 {
                if count == 19 { return false }
                digits[count] = b &- 0x30; count += 1; j += 1
            } else if (b == 0x20 || b == 0x2D) && w.isDigit(j + 1) && count > 0 {
                if sep == 0 { sep = b } else if sep != b { return false }
                j += 1
            } else { break }
        }
        guard count >= 13, !w.isAlnum(j) else { return false }
        guard issuerAccepts(digits, count) else { return false }
        return luhn(digits, count)
    }

    static func luhn(_ d: [UInt8], _ n: Int) -> Bool {
        var sum = 0
        for k in 0..<n {
            var v = Int(d[n - 1 - k])
            if k & 1 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    static func issuerAccepts(_ d: [UInt8], _ n: Int) -> Bool {
        func prefix(_ k: Int) -> Int { (0..<k).reduce(0) { $0 * 10 + Int(d[$1]) } }
        let p1 = prefix(1), p2 = prefix(2), p3 = prefix(3), p4 = prefix(4)
        if p1 == 4 { return n == 13 || n == 16 || n == 19 }                          // Visa
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return n == 16 }   // Mastercard
        if p2 == 34 || p2 == 37 { return n == 15 }                                    // American Express
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 { return n >= 16 }      // Discover
        if (3528...3589).contains(p4) { return n >= 16 }                              // JCB
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 { return n >= 14 } // Diners Club
        if p2 == 62 { return n >= 16 }                                                // UnionPay
        if p2 == 50 || (56...58).contains(p2) || p2 == 63 || p2 == 67 { return n >= 13 } // Maestro
        return false
    }
}
