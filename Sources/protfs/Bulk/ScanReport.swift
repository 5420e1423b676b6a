import Foundation
import ProtPolicy

/// Totals of a scan: per label (files, bytes) and per detector (files with a hit, matches).
struct ScanTotals {
    var files = 0, bytes: UInt64 = 0, skipped = 0, unreadable = 0, raised = 0
    var seconds: Double
    var labels: [String: (files: Int, bytes: UInt64)] = [:]
    var detectors: [String: (files: Int, matches: Int)] = [:]

    init(_ results: [ScanResult], skipped: Int, seconds: Double) {
        self.seconds = seconds
        self.skipped = skipped
        for r in results {
            guard r.error == nil, let c = r.classification else { unreadable += 1; continue }
            files += 1
            bytes += UInt64(r.entry.st.st_size)
            labels[c.label, default: (0, 0)].files += 1
            labels[c.label, default: (0, 0)].bytes += UInt64(r.entry.st.st_size)
            if c.raisedByDetector { raised += 1 }
            for (d, n) in r.counts where n > 0 {
                detectors[d, default: (0, 0)].files += 1
                detectors[d, default: (0, 0)].matches += n
            }
        }
    }

    var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / 1e6 / seconds : 0 }
}

enum ScanReport {
    static func counts(_ c: [String: Int]) -> String {
        c.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    static func files(_ results: [ScanResult], format: OutputFormat) {
        let header = ["PATH", "SIZE", "LABEL", "FOLDER_LABEL", "FOLDER_RULE", "RAISED", "FIRED", "COUNTS"]
        if format == .json {
            for r in results {
                guard let c = r.classification else { continue }
                Out.json([
                    "path": "/" + r.entry.text, "size": Int(r.entry.st.st_size), "label": c.label,
                    "folder_label": c.folderLabel, "folder_rule": c.folderRule ?? NSNull(),
                    "raised": c.raisedByDetector,
                    "fired": c.fired.map {
                        ["detector": $0.detector, "count": $0.count, "label": $0.label] as [String: Any]
                    },
                    "counts": r.counts.filter { $0.value > 0 }
                ])
            }
            return
        }
        let rows: [[String]] = results.compactMap { r in
            guard let c = r.classification else { return nil }
            return [
                "/" + r.entry.text, String(r.entry.st.st_size), c.label, c.folderLabel, c.folderRule ?? "(default)",
                c.raisedByDetector ? "yes" : "no", c.fired.map { "\($0.detector)>=\($0.label)" }.joined(separator: " "),
                counts(r.counts)
            ]
        }
        format == .csv ? Out.csv(header, rows) : Out.table(header, rows)
    }

    static func summary(_ t: ScanTotals, policy: Policy, format: OutputFormat, brief: Bool) {
        let rate = String(format: "%.1f", t.megabytesPerSecond)
        if format == .json {
            Out.json([
                "files": t.files, "bytes": t.bytes, "skipped": t.skipped, "unreadable": t.unreadable,
                "raised_by_detectors": t.raised,
                "seconds": (t.seconds * 1000).rounded() / 1000, "mb_per_second": Double(rate) ?? 0,
                "labels": t.labels.mapValues { ["files": $0.files, "bytes": $0.bytes] },
                "detectors": t.detectors.mapValues { ["files": $0.files, "matches": $0.matches] }
            ])
            return
        }
        let byRank = t.labels.keys.sorted { (policy.rank($0), $0) < (policy.rank($1), $1) }
        if format == .csv {
            var rows = byRank.map { ["label", $0, String(t.labels[$0]!.files), String(t.labels[$0]!.bytes)] }
            rows += t.detectors.keys.sorted().map {
                ["detector", $0, String(t.detectors[$0]!.files), String(t.detectors[$0]!.matches)]
            }
            rows.append(["total", "", String(t.files), String(t.bytes)])
            Out.csv(["KIND", "NAME", "FILES", "BYTES_OR_MATCHES"], rows)
            return
        }
        if brief {
            Out.line(
                "\n\(t.files) files, \(ProgressBar.bytes(t.bytes)) in \(String(format: "%.2f", t.seconds)) s "
                    + "(\(rate) MB/s); \(t.raised) raised by detectors; \(t.unreadable) unreadable, "
                    + "\(t.skipped) skipped"
            )
            return
        }
        Out.table(
            ["LABEL", "FILES", "BYTES"], byRank.map { [$0, String(t.labels[$0]!.files), String(t.labels[$0]!.bytes)] })
        Out.line("")
        if t.detectors.isEmpty {
            Out.line("no detector hits")
        } else {
            Out.table(
                ["DETECTOR", "FILES", "MATCHES"],
                t.detectors.keys.sorted().map { [$0, String(t.detectors[$0]!.files), String(t.detectors[$0]!.matches)] }
            )
        }
        Out.line("")
        Out.line(
            "\(t.files) files, \(ProgressBar.bytes(t.bytes)) in \(String(format: "%.2f", t.seconds)) s (\(rate) "
                + "MB/s); \(t.raised) raised by detectors; \(t.unreadable) unreadable, \(t.skipped) skipped "
                + "(symlinks, special files, unreadable directories)"
        )
    }
}
