import Foundation
import Glibc

/// A one-line progress display on standard error: files, bytes, rate and ETA. Silent unless stderr is a
/// terminal, so piped and scripted runs get clean output.
final class ProgressBar {
    private let totalFiles: Int
    private let totalBytes: UInt64
    private let verb: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    let enabled: Bool

    init(verb: String, files: Int, bytes: UInt64, enabled: Bool = isatty(2) != 0) {
        self.verb = verb; totalFiles = files; totalBytes = bytes; self.enabled = enabled
    }

    func update(files: Int, bytes: UInt64, force: Bool = false) {
        guard enabled, force || Date().timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = Date()
        let elapsed = max(Date().timeIntervalSince(start), 0.001)
        let rate = Double(bytes) / elapsed
        let fraction =
            totalBytes > 0
            ? Double(bytes) / Double(totalBytes) : (totalFiles > 0 ? Double(files) / Double(totalFiles) : 1)
        let eta = rate > 0 && totalBytes > bytes ? Double(totalBytes - bytes) / rate : 0
        let width = 24
        let filled = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line =
            "\r\(verb) [\(bar)] \(files)/\(totalFiles) files  \(Self.bytes(bytes))/\(Self.bytes(totalBytes))  "
            + "\(Self.bytes(UInt64(rate)))/s  ETA \(Self.duration(eta))\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600
            ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
