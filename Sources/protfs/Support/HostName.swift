import Glibc

/// This machine's name, for default mail addresses.
func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, 255)
    return String(cString: buf)
}
