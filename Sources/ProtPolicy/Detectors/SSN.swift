/// US Social Security numbers written AAA-GG-SSSS (dashes or spaces, one kind), excluding the numbers the
/// SSA never issues: area 000, 666 and 900-999, group 00, serial 0000.
enum SSN {
    static func match(_ w: Window, at i: Int) -> Bool {
        if w.isAlnum(i - 1) || (w[i - 1] == 0x2D && w.isDigit(i - 2)) { return false }
        let sep = w[i + 3]
        guard sep == 0x2D || sep == 0x20, w[i + 6] == sep else { return false }
        for k in [0, 1, 2, 4, 5, 7, 8, 9, 10] where !w.isDigit(i + k) { return false }
        if w.isAlnum(i + 11) || ((w[i + 11] == 0x2D || w[i + 11] == 0x20) && w.isDigit(i + 12)) { return false }
        func num(_ a: Int, _ len: Int) -> Int { (0..<len).reduce(0) { $0 * 10 + Int(w[a + $1] - 0x30) } }
        let area = num(i, 3), group = num(i + 4, 2), serial = num(i + 7, 4)
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
    }
}
