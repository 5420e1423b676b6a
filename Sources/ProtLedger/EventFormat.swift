import Foundation
import ProtCrypto

/// Output formats of `protfs audit`: an aligned table for terminals, JSON Lines and RFC 4180 CSV for tools.
/// JSON and CSV round-trip every path exactly: CSV carries raw bytes, JSON adds `path_b64` / `new_path_b64`
/// when a path is not valid UTF-8. The table escapes control characters so a file name cannot drive the terminal.
public enum EventFormat: String, CaseIterable, Sendable {
    case table, json, csv

    public static let csvColumns = [
        "seq", "time", "event", "outcome", "uid", "user", "gid", "pid", "process", "path",
        "new_path", "label", "prev_label", "bytes_read", "bytes_written", "detail", "hash"
    ]

    public static func isoTime(_ ns: Int64) -> String {
        let secs = ns / 1_000_000_000, frac = ns % 1_000_000_000
        var t = time_t(secs)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, Int(frac))
    }

    // MARK: JSON Lines

    public static func jsonLine(_ e: LedgerEvent) -> [UInt8] {
        var fields: [(String, String)] = [
            ("seq", "\(e.seq)"), ("time", quote(isoTime(e.time))), ("time_ns", "\(e.time)"),
            ("event", quote(e.kind.rawValue)), ("outcome", quote(e.outcome.rawValue))
        ]
        func opt(_ k: String, _ v: Int64?) { if let v { fields.append((k, "\(v)")) } }
        func opt(_ k: String, _ v: String?) { if let v { fields.append((k, quote(v))) } }
        func path(_ k: String, _ v: [UInt8]?) {
            guard let v else { return }
            fields.append((k, quote(String(decoding: v, as: UTF8.self))))
            if String(validating: v, as: UTF8.self) == nil {
                fields.append((k + "_b64", quote(Data(v).base64EncodedString())))
            }
        }
        opt("uid", e.uid); opt("user", e.user); opt("gid", e.gid); opt("pid", e.pid); opt("process", e.process)
        path("path", e.path); path("new_path", e.newPath); opt("label", e.label); opt("prev_label", e.previousLabel)
        opt("bytes_read", e.bytesRead); opt("bytes_written", e.bytesWritten); opt("detail", e.detail)
        // With the previous row's hash, an exported run of rows can be checked link by link (ChainHash).
        if !e.prevHash.isEmpty { fields.append(("prev_hash", quote(Hex.encode(e.prevHash)))) }
        fields.append(("hash", quote(Hex.encode(e.hash))))
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n").utf8)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7F: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    // MARK: CSV

    public static func csvHeader() -> [UInt8] { Array((csvColumns.joined(separator: ",") + "\r\n").utf8) }

    public static func csvRow(_ e: LedgerEvent) -> [UInt8] {
        func s(_ v: String?) -> [UInt8] { v.map { Array($0.utf8) } ?? [] }
        func i(_ v: Int64?) -> [UInt8] { v.map { Array(String($0).utf8) } ?? [] }
        let cells: [[UInt8]] = [
            i(e.seq), s(isoTime(e.time)), s(e.kind.rawValue), s(e.outcome.rawValue), i(e.uid), s(e.user),
            i(e.gid), i(e.pid), s(e.process), e.path ?? [], e.newPath ?? [], s(e.label), s(e.previousLabel),
            i(e.bytesRead), i(e.bytesWritten), s(e.detail), s(Hex.encode(e.hash))
        ]
        var out: [UInt8] = []
        for (n, c) in cells.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            if c.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                out.append(0x22)
                for b in c { out.append(b); if b == 0x22 { out.append(0x22) } }
                out.append(0x22)
            } else {
                out += c
            }
        }
        return out + [0x0D, 0x0A]
    }

    // MARK: table

    public static func table(_ rows: [LedgerEvent]) -> [UInt8] {
        let header = ["SEQ", "TIME (UTC)", "EVENT", "OUTCOME", "USER", "PROCESS", "PATH", "LABEL", "DETAIL"]
        var lines = [header]
        for e in rows {
            var path = e.path.map(printable) ?? ""
            if let np = e.newPath { path += " -> " + printable(np) }
            var label = e.label ?? ""
            if let pl = e.previousLabel { label = pl + " -> " + label }
            let who = e.user ?? e.uid.map { "uid \($0)" } ?? ""
            let proc = e.process.map { "\(printable(Array($0.utf8)))[\(e.pid ?? 0)]" } ?? ""
            var detail = e.detail.map { printable(Array($0.utf8)) } ?? ""
            if let r = e.bytesRead, let w = e.bytesWritten {
                detail = "read \(r) written \(w)" + (detail.isEmpty ? "" : "; " + detail)
            }
            lines.append([
                "\(e.seq)", String(isoTime(e.time).prefix(23)) + "Z", e.kind.rawValue, e.outcome.rawValue,
                printable(Array(who.utf8)), proc, path, label, detail
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for l in lines { for (i, c) in l.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for l in lines {
            var line = ""
            for (i, c) in l.enumerated() {
                line += i == l.count - 1 ? c : c.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }
            out += line.trimmingCharacters(in: .whitespaces) + "\n"
        }
        return Array(out.utf8)
    }

    /// Valid UTF-8 stays as it is; control characters and invalid bytes become visible escapes.
    public static func printable(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0
            if len == 1 {
                if b < 0x20 || b == 0x7F {
                    switch b {
                    case 0x0A: out += "\\n"
                    case 0x09: out += "\\t"
                    default: out += String(format: "\\x%02x", b)
                    }
                } else if b == UInt8(ascii: "\\") {
                    out += "\\\\"
                } else {
                    out.unicodeScalars.append(Unicode.Scalar(b))
                }
                i += 1
            } else if len > 1, i + len <= bytes.count, let s = String(validating: bytes[i..<(i + len)], as: UTF8.self),
                !s.unicodeScalars.contains(where: {
                    $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
                })
            {
                out += s
                i += len
            } else {
                out += String(format: "\\x%02x", b)
                i += 1
            }
        }
        return out
    }
}
