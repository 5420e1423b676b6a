import Foundation
import Glibc

/// Descriptors the daemon inherited from whoever started it (a shell, a test harness, a service manager).
/// Each one held open for the daemon's lifetime is one fewer for inodes (a parent with 300 open descriptors
/// and a limit of 1024 made `ls -l` of 3,000 files fail with EMFILE), and a root daemon must not keep a
/// caller's files open. Taken before the store is unlocked, closed once the passphrase file (which may be
/// `/dev/fd/N`) has been read.
public enum InheritedDescriptors {
    /// Descriptors 3 and up without close-on-exec: what a parent passed (protfs opens its own with O_CLOEXEC).
    public static func snapshot() -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        return names.compactMap(Int32.init).filter { fd in
            guard fd > 2 else { return false }
            let flags = fcntl(fd, F_GETFD)
            return flags >= 0 && flags & FD_CLOEXEC == 0
        }.sorted()
    }

    public static func close(_ fds: [Int32]) {
        for fd in fds { Glibc.close(fd) }
    }

    /// How many descriptors this process has open now.
    static func openCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }
}
