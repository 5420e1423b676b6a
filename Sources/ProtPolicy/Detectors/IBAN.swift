/// International bank account numbers: a known country code, the country's exact length, and the ISO 13616
/// mod-97 check. Compact or printed in groups of four separated by single spaces.
enum IBAN {
    /// `i` is the first check digit; the country code is the two uppercase letters before it.
    static func match(_ w: Window, at i: Int) -> Bool {
        guard w.isUpper(i - 2), w.isUpper(i - 1), !w.isAlnum(i - 3), w.isDigit(i + 1) else { return false }
        let length = Int(table[Int(w[i - 2] - 0x41) * 26 + Int(w[i - 1] - 0x41)])
        guard length > 0 else { return false }
        // Move the first four characters to the end and read letters as 10..35; the remainder mod 97 must be 1.
        @inline(__always) func fold(_ rem: Int, _ c: UInt8) -> Int {
            c <= 0x39 ? (rem * 10 + Int(c - 0x30)) % 97 : (rem * 100 + Int(c - 0x41 + 10)) % 97
        }
        var rem = 0, count = 4, j = i + 2
        while count < length {
            let b = w[j]
            if w.isDigit(j) || w.isUpper(j) {
                rem = fold(rem, b); count += 1; j += 1
            } else if b == 0x20 && count % 4 == 0 && (w.isDigit(j + 1) || w.isUpper(j + 1)) {
                j += 1
            } else {
                return false
            }
        }
        guard !w.isAlnum(j) else { return false }
        for k in [i - 2, i - 1, i, i + 1] { rem = fold(rem, w[k]) }
        return rem == 1
    }

    /// IBAN length by country, indexed by (first letter, second letter); 0 for no IBAN country.
    static let table: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 26 * 26)
        for (c, n) in lengths {
            let u = Array(c.utf8)
            t[Int(u[0] - 0x41) * 26 + Int(u[1] - 0x41)] = UInt8(n)
        }
        return t
    }()

    static let lengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
        "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
        "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
        "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20
    ]
}
