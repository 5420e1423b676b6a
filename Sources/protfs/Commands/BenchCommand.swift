import ArgumentParser
import Foundation
import ProtContainer
import ProtCrypto
import ProtLedger
import ProtPolicy
import ProtSystem

/// Measurements for Benchmarks/*.sh; figures are printed, never asserted.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Micro-benchmarks used by the scripts in Benchmarks/.",
        subcommands: [Crypto.self, Detectors.self, LedgerAppend.self, LedgerFill.self, KeyServiceBench.self])

    static func now() -> Double { Double(currentTimeNanos()) / 1e9 }

    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "AES-256-GCM block seal/open throughput on one thread, as the container uses it.")
        @Option(help: "Plaintext block size in bytes.") var blockSize: Int = Layout.blockSize
        @Option(help: "Seconds per measurement.") var seconds: Double = 2

        func run() throws {
            let key = try SecureBytes.random(count: 32)
            let plain = try Random.bytes(blockSize)
            let aad = [UInt8](repeating: 7, count: 25)
            var sealed = [UInt8](repeating: 0, count: blockSize + AESGCM.overhead)
            var opened = [UInt8](repeating: 0, count: blockSize)
            func measure(_ op: () throws -> Void) rethrows -> Double {
                var n = 0
                let start = BenchCommand.now()
                while BenchCommand.now() - start < seconds { for _ in 0..<256 { try op() }; n += 256 }
                return Double(n * blockSize) / (BenchCommand.now() - start) / 1e6
            }
            let seal = try plain.withUnsafeBytes { p in
                try aad.withUnsafeBytes { a in
                    try sealed.withUnsafeMutableBytes { s in
                        try measure { try AESGCM.seal(key: key, plaintext: p, aad: a, into: s) }
                    }
                }
            }
            let open = try sealed.withUnsafeBytes { s in
                try aad.withUnsafeBytes { a in
                    try opened.withUnsafeMutableBytes { o in
                        try measure { try AESGCM.open(key: key, sealed: s, aad: a, into: o) }
                    }
                }
            }
            Out.line(String(format: "protfs block=%d seal %.0f MB/s open %.0f MB/s", blockSize, seal, open))
        }
    }

    struct Detectors: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run a policy's detectors (default: all built-ins and the default keywords) over a file on one core.")
        @Argument(help: "The data to scan.") var file: String
        @Option(help: "Policy whose detectors to run.") var policy: String?

        func run() throws {
            var defs = DetectorDefinition.builtins
            if let policy {
                defs = try PolicyLoader.load(file: policy).policy.detectorDefinitions
            } else {
                defs.append(
                    DetectorDefinition(
                        id: "keywords",
                        kind: .keywords([
                            "attorney-client privileged", "privileged and confidential", "settlement agreement",
                            "strictly confidential"
                        ])))
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let bytes = Array(data)
            var best = 0.0
            var counts: [String: Int] = [:]
            for _ in 0..<3 {
                let s = try ContentScanner(defs)
                let start = BenchCommand.now()
                var i = 0
                bytes.withUnsafeBytes { b in
                    while i < b.count {
                        let n = min(1 << 20, b.count - i); s.feed(UnsafeRawBufferPointer(rebasing: b[i..<(i + n)]));
                        i += n
                    }
                }
                counts = s.finish()
                best = max(best, Double(bytes.count) / (BenchCommand.now() - start) / 1e6)
            }
            Out.line(
                String(format: "protfs detectors: %.0f MB/s over %d bytes; ", best, bytes.count)
                    + counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }

    struct LedgerAppend: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger-append", abstract: "Append throughput with concurrent appenders (group commit).")
        @Option(help: "Ledger file (created).") var ledger: String
        @Option(help: "Concurrent appenders.") var threads: Int = 16
        @Option(help: "Rows per appender.") var rows: Int = 10_000
        @Option(help: "normal or full (fsync per group commit).") var durability: String = "normal"
        @Flag(
            help:
                ArgumentHelp(
                    "Queue rows without waiting for their commit (the mount's rows other than opens and creates); the "
                        + "time includes a final flush.")
        )
        var writeBehind = false

        func run() throws {
            let l = try Ledger(path: ledger, durability: durability == "full" ? .full : .normal)
            let start = BenchCommand.now()
            // Real threads, one per appender: concurrentPerform would run only as many as there are cores.
            let done = DispatchGroup()
            let failLock = NSLock()
            nonisolated(unsafe) var failed: [String] = []
            for t in 0..<threads {
                done.enter()
                Thread {
                    for i in 0..<rows {
                        let e = LedgerEvent(
                            kind: .openRead, outcome: .allowed, uid: Int64(1000 + t), user: "user\(t)", gid: 100,
                            pid: Int64(i), process: "bench", path: Array("/share/dir\(t)/file\(i % 100).txt".utf8),
                            label: "general")
                        do { if writeBehind { try l.appendLater(e) } else { _ = try l.append(e) } } catch {
                            failLock.lock(); failed.append("\(error)"); failLock.unlock()
                        }
                    }
                    done.leave()
                }.start()
            }
            done.wait()
            if writeBehind { try l.flush() }
            let secs = BenchCommand.now() - start
            l.close()
            if !failed.isEmpty { throw ValidationError("\(failed.count) appends failed, the first: \(failed[0])") }
            let stored = Int(try Ledger(path: ledger, readOnly: true).rowCount)
            guard stored == threads * rows else {
                throw ValidationError("the ledger holds \(stored) rows, \(threads * rows) were appended")
            }
            Out.line(
                String(
                    format: "protfs ledger: %d appenders, %d rows in %.2f s = %.0f rows/s (synchronous=%@%@)",
                    threads, threads * rows, secs, Double(threads * rows) / secs, durability,
                    writeBehind ? ", write-behind" : ""))
        }
    }

    struct LedgerFill: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger-fill", abstract: "Bulk-load a large ledger for query benchmarks.")
        @Option(help: "Ledger file (created).") var ledger: String
        @Option(help: "Rows to add.") var rows: Int = 10_000_000
        @Option(help: "Distinct users.") var users: Int = 500
        @Option(help: "Days the rows span, ending now.") var days: Int = 30

        func run() throws {
            let l = try Ledger(path: ledger)
            l.close()
            let labels = ["public", "general", "confidential/finance", "confidential/hr", "highly-confidential/legal"]
            let kinds: [EventKind] = [.openRead, .openRead, .openRead, .close, .openWrite, .create, .rename, .deny]
            var done = 0
            let tty = isatty(2) == 1
            while done < rows {
                let n = min(100_000, rows - done)
                let batch = (0..<n).map { k -> LedgerEvent in
                    let i = done + k
                    let kind = kinds[i % kinds.count]
                    return LedgerEvent(
                        kind: kind, outcome: kind == .deny ? .denied : .allowed, uid: Int64(1000 + i % users),
                        user: "user\(i % users)", gid: 100, pid: Int64(i % 32768), process: "app",
                        path: Array("/share/d\(i % 1000)/f\(i % 7919).dat".utf8), label: labels[i % labels.count])
                }
                try l.appendBatch(batch)
                done += n
                if tty { FileHandle.standardError.write(Data("\r\(done)/\(rows) rows".utf8)) }
            }
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            Out.line("filled \(ledger) with \(rows) rows")
        }
    }
}
