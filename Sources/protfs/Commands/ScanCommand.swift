import ArgumentParser
import Foundation
import ProtPolicy
import ProtStore

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Discovery: the label each file of a tree would get, and why. Nothing is written.",
        discussion: """
            DIR is taken as the share root: /finance/x in the output is DIR/finance/x, judged by the folder rules \
            and content detectors of the policy. Each file is read once, on all cores. Symlinks are never followed; \
            unreadable files are reported on stderr and skipped. A progress line is shown when stderr is a terminal.
            """)

    @Argument(help: "The tree to scan.") var dir: String
    @Option(help: "Label policy (YAML).") var policy: String?
    @Option(help: "Use the policy of this store (or of the store mounted here).") var store: String?
    @Option(help: "table, json or csv.") var format: OutputFormat = .table
    @Flag(help: "Only the totals per label and per detector.") var summary = false
    @Option(help: "Scanning threads (default: one per core).") var jobs: Int?

    func validate() throws {
        if (policy == nil) == (store == nil) {
            throw ValidationError("give exactly one of --policy FILE or --store STORE")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let p = try PolicyCommand.load(policy ?? Store.policyPath(try StoreLocator.resolve(store!)))
        var skipped = 0
        let entries = TreeWalk(root: dir).entries {
            Out.warn("scan: \($0)"); skipped += 1
        }
        guard !entries.isEmpty || FileManager.default.fileExists(atPath: dir) else {
            throw ValidationError("\(dir) does not exist")
        }
        for e in entries where e.kind == .symlink {
            var st = stat()
            if stat(dir + "/" + e.text, &st) != 0 { Out.warn("scan: \(e.text): dangling symlink (not followed)") }
        }
        skipped += entries.filter { $0.kind == .symlink || $0.kind == .other }.count
        let files = entries.filter { $0.kind == .file }
        let total = files.reduce(UInt64(0)) { $0 + UInt64($1.st.st_size) }
        let bar = ProgressBar(verb: "scan", files: files.count, bytes: total)
        let started = Date()
        let results = try TreeClassifier(policy: p, threads: jobs ?? ProcessInfo.processInfo.activeProcessorCount)
            .run(root: dir, files: files) { bar.update(files: $0, bytes: $1) }
        bar.finish()
        let seconds = Date().timeIntervalSince(started)
        for r in results { if let e = r.error { Out.warn("scan: \(r.entry.text): \(e) (skipped)") } }
        let totals = ScanTotals(results, skipped: skipped, seconds: seconds)
        if !summary { ScanReport.files(results.filter { $0.error == nil }, format: format) }
        if summary || format == .table { ScanReport.summary(totals, policy: p, format: format, brief: !summary) }
    }
}
