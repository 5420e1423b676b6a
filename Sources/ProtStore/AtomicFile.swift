import Foundation
import Glibc
import ProtSystem

/// Writes a file so that a crash leaves either the old or the new content: temporary file, fsync, rename,
/// fsync of the directory.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw StoreError.io(tmp, String(cString: strerror(errno))) }
        var ok = bytes.withUnsafeBytes { b in if case .success = writeAll(fd, b) { true } else { false } }
        ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0
        let err = errno
        close(fd)
        guard ok else { unlink(tmp); throw StoreError.io(path, String(cString: strerror(err))) }
        guard rename(tmp, path) == 0 else {
            let e = errno; unlink(tmp); throw StoreError.io(path, String(cString: strerror(e)))
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
