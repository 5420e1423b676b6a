import Foundation
import ProtStore

/// Accepts a store directory or the mountpoint of a mounted store (found through /proc/mounts).
enum StoreLocator {
    static func resolve(_ arg: String) throws -> String {
        if FileManager.default.fileExists(atPath: Store.configPath(arg)) { return arg }
        let target = (arg as NSString).standardizingPath
        if let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) {
            for line in mounts.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count >= 3, f[2] == "fuse.protfs" || f[2] == "fuse" else { continue }
                if unescape(String(f[1])) == target, FileManager.default.fileExists(atPath: Store.configPath(unescape(String(f[0])))) {
                    return unescape(String(f[0]))
                }
            }
        }
        throw StoreError.notAStore(arg)
    }

    /// /proc/mounts writes space, tab, newline and backslash as octal escapes.
    static func unescape(_ s: String) -> String {
        var out = [UInt8](), b = Array(s.utf8), i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else { out.append(b[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func ledgerPath(store: String, override: String?) throws -> String {
        if let override { return override }
        return Store.ledgerPath(try resolve(store))
    }
}
