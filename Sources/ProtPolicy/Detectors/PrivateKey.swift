/// PEM private-key blocks, recognised by their BEGIN line (PKCS#1, PKCS#8, SEC1, DSA, OpenSSH, encrypted PKCS#8).
enum PrivateKey {
    static let begin = Array("-----BEGIN ".utf8)
    static let kinds = ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "].map { Array(($0 + "PRIVATE KEY-----").utf8) }

    static func match(_ w: Window, at i: Int) -> Bool {
        guard w.hasPrefix(begin, at: i) else { return false }
        let rest = i + begin.count
        return kinds.contains { w.hasPrefix($0, at: rest) }
    }
}
