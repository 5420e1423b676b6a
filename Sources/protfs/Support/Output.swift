import ArgumentParser
import Foundation
import ProtLedger
import ProtSystem

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Raw bytes to standard output: paths are bytes, not necessarily UTF-8.
enum Out {
    static func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { writeAll(1, $0) }
    }

    static func line(_ s: String) { write(Array((s + "\n").utf8)) }

    static func warn(_ s: String) { FileHandle.standardError.write(Data("protfs: \(s)\n".utf8)) }

    static func json(_ object: Any) {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        write(Array(data) + [0x0A])
    }

    /// Aligned columns for terminals.
    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        for r in [header] + rows {
            let cells = r.enumerated().map { i, c in
                i == r.count - 1 ? c : c.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }
            line(cells.joined().trimmingCharacters(in: .whitespaces))
        }
    }

    static func csv(_ header: [String], _ rows: [[String]]) {
        func cell(_ c: String) -> String {
            c.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + c.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : c
        }
        for r in [header] + rows { write(Array((r.map(cell).joined(separator: ",") + "\r\n").utf8)) }
    }

    static func data(_ format: OutputFormat, _ header: [String], _ rows: [[String]]) {
        switch format {
        case .table: table(header, rows)
        case .csv: csv(header, rows)
        case .json: for r in rows { json(Dictionary(uniqueKeysWithValues: zip(header.map { $0.lowercased() }, r))) }
        }
    }
}
