/// PEM private-key blocks, recognised by their BEGIN line (PKCS#1, PKCS#8, SEC1, DSA, OpenSSH, encrypted PKCS#8).
enum PrivateKey {
    static func match(_ w: Window, at i: Int) -> Bool {
        guard w[i + 1] == 0x2D, w.hasPrefix("-----BEGIN ", at: i) else { return false }
        var j = i + 11
        for kind: StaticString in ["RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "] where w.hasPrefix(kind, at: j) {
            j += kind.utf8CodeUnitCount
            break
        }
        return w.hasPrefix("PRIVATE KEY-----", at: j)
    }
}
