/// Email addresses, anchored at the '@': a local part of 1-64 characters and a domain of at least two
/// labels ending in an alphabetic top-level domain of two or more letters, 253 characters at most.
enum Email {
    static let maxLocal = 64, maxDomain = 253

    static func match(_ w: Window, at anchor: Int) -> Bool {
        let at = anchor
        var s = at
        while s > at - maxLocal - 1, w.cls(s - 1) & ByteClass.emailLocal != 0 { s -= 1 }
        let local = at - s
        guard local >= 1, local <= maxLocal, w.cls(s - 1) & ByteClass.emailLocal == 0 else { return false }
        guard w[s] != 0x2E, w[at - 1] != 0x2E else { return false }
        var j = at + 1, labels = 0, labelLen = 0, lastLabelAlpha = true
        while j - at - 1 <= maxDomain {
            let b = w[j]
            if w.cls(j) & ByteClass.domain != 0 {
                labelLen += 1
                if !(w.isUpper(j) || (b >= 0x61 && b <= 0x7A)) { lastLabelAlpha = false }
                j += 1
            } else if b == 0x2E && labelLen > 0 && w.cls(j + 1) & ByteClass.domain != 0 {
                labels += 1; labelLen = 0; lastLabelAlpha = true; j += 1
            } else {
                break
            }
        }
        guard labelLen > 0 else { return false }
        labels += 1
        return labels >= 2 && labelLen >= 2 && lastLabelAlpha && j - at - 1 <= maxDomain
    }
}
