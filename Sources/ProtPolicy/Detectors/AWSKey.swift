/// AWS access key ids: a known four-letter prefix and 16 more uppercase letters or digits, standing alone.
enum AWSKey {
    static func match(_ w: Window, at i: Int) -> Bool {
        guard w.isUpper(i + 1), w.isUpper(i + 2), w[i + 3] == 0x41, !w.isAlnum(i - 1) else { return false }
        var known = false
        for prefix: StaticString in [
            "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA"
        ]
        where w.hasPrefix(prefix, at: i) { known = true; break }
        guard known else { return false }
        for k in 4..<20 where !(w.isUpper(i + k) || w.isDigit(i + k)) { return false }
        return !w.isAlnum(i + 20)
    }
}
