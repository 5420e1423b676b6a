import Glibc

/// Names the calling thread for `top -H`, `ps -L` and `perf` (at most 15 bytes, the kernel's limit).
/// Foundation's `Thread.name` stays inside Foundation on Linux: every thread showed the binary's name.
/// Written through /proc because pthread_setname_np and prctl are not in Swift's Glibc module.
public func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}
