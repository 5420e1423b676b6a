/// AWS access key ids: a known four-letter prefix and 16 more uppercase letters or digits, standing alone.
enum AWSKey {
    static let prefixes = ["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA"].map { Array($0.utf8) }

    static func match(_ w: Window, at i: Int) -> Bool {
        guard !w.isAlnum(i - 1), prefixes.contains(where: { w.hasPrefix($0, at: i) }) else { return false }
        for k in 4..<20 where !(w.isUpper(i + k) || w.isDigit(i + k)) { return false }
        return !w.isAlnum(i + 20)
    }
}
