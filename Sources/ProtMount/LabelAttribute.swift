import CFuse3
import CLinux
import Glibc

/// The `user.protfs.label` extended attribute as seen from outside the mount (for `protfs label`).
public enum LabelAttribute {
    public static let name = "user.protfs.label"

    /// The label of a file in a mounted share, or nil with errno set.
    public static func get(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 512)
        let n = getxattr(path, name, &buf, buf.count)
        guard n >= 0 else { return nil }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Relabels; returns 0 or the errno (EPERM: a guarded downgrade without justification; EACCES: no owner right).
    public static func set(_ path: String, label: String, justification: String?) -> Int32 {
        let value = label + (justification.map { "|" + $0 } ?? "")
        return setxattr(path, name, value, value.utf8.count, 0) == 0 ? 0 : errno
    }
}
