import Foundation

/// The kernel's table of mounts (/proc/mounts), with its octal escapes undone.
public enum MountTable {
    public struct Entry: Equatable { public let source: String; public let target: String; public let type: String }

    public static func entries() -> [Entry] {
        guard let text = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 3 else { return nil }
            return Entry(source: unescape(String(f[0])), target: unescape(String(f[1])), type: String(f[2]))
        }
    }

    /// Where protfs has a store (given by its absolute path) mounted.
    public static func mountpoints(ofStore store: String) -> [String] {
        entries().filter { $0.type == "fuse.protfs" && $0.source == store }.map(\.target)
    }

    /// /proc/mounts writes space, tab, newline and backslash as octal escapes.
    static func unescape(_ s: String) -> String {
        var out = [UInt8](), b = Array(s.utf8), i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 3 < b.count,
                let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
