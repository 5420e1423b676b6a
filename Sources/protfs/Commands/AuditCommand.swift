import ArgumentParser
import Foundation
import ProtLedger
import ProtPolicy
import ProtSystem

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Who touched what, when, and who was refused: query, verify and prune the access ledger.",
        subcommands: [Query.self, Verify.self, Prune.self],
        defaultSubcommand: Query.self)

    struct LedgerLocation: ParsableArguments {
        @Argument(help: "The store directory or the mountpoint of a mounted store.") var store: String
        @Option(help: "Use this ledger file instead of STORE/.protfs/ledger.db.") var ledger: String?

        func open(readOnly: Bool) throws -> Ledger {
            let path = try StoreLocator.ledgerPath(store: store, override: ledger)
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no ledger at \(path)") }
            return try Ledger(path: path, readOnly: readOnly)
        }
    }

    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "query", abstract: "List ledger rows (the default: `protfs audit STORE ...`).")

        @OptionGroup var location: LedgerLocation
        @Option(help: "Only rows of this user name.") var user: String?
        @Option(help: "Only rows of this uid.") var uid: Int64?
        @Option(help: "Only rows whose path starts with this prefix, or matches this glob (*, ?, [...]).") var path:
            String?
        @Option(help: "Only rows with this label.") var label: String?
        @Option(help: "Only rows of this event (\(EventKind.allCases.map(\.rawValue).joined(separator: ", "))).")
        var event: String?
        @Flag(help: "Only refused attempts.") var denied = false
        @Option(help: "From this time: ISO-8601 (2026-11-29, 2026-11-29T10:00:00Z) or a duration ago (30m, 2h, 7d).")
        var since: String?
        @Option(help: "Before this time (same forms as --since).") var until: String?
        @Option(help: "At most this many rows, the newest (0: all).") var limit: Int = 1000
        @Option(help: "table, json (one object per line) or csv.") var format: OutputFormat = .table
        @Flag(help: "Keep printing new rows as they arrive, until interrupted.") var follow = false

        func validate() throws {
            if let s = since, TimeArgument.parse(s) == nil {
                throw ValidationError("--since: cannot read '\(s)' as a time or duration")
            }
            if let u = until, TimeArgument.parse(u) == nil {
                throw ValidationError("--until: cannot read '\(u)' as a time or duration")
            }
            if let e = event, EventKind(rawValue: e) == nil { throw ValidationError("--event: unknown event '\(e)'") }
            if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        }

        var filter: LedgerFilter {
            var f = LedgerFilter()
            f.user = user; f.uid = uid; f.path = path.map { Array($0.utf8) }; f.label = label
            f.event = event.flatMap(EventKind.init(rawValue:)); f.deniedOnly = denied
            f.since = since.flatMap { TimeArgument.parse($0) }; f.until = until.flatMap { TimeArgument.parse($0) }
            f.limit = limit == 0 ? nil : limit
            return f
        }

        func run() throws {
            let ledger = try location.open(readOnly: true)
            var rows = try ledger.query(filter)
            if format == .csv { Out.write(EventFormat.csvHeader()) }
            emit(rows, header: true)
            guard follow else { return }
            var last = rows.last?.seq ?? ledger.lastSeq
            while true {
                usleep(300_000)
                var f = filter
                f.limit = nil
                f.afterSeq = last
                rows = try ledger.query(f)
                if let l = rows.last { last = l.seq; emit(rows, header: false) }
            }
        }

        func emit(_ rows: [LedgerEvent], header: Bool) {
            switch format {
            case .json: for r in rows { Out.write(EventFormat.jsonLine(r)) }
            case .csv: for r in rows { Out.write(EventFormat.csvRow(r)) }
            case .table:
                var text = EventFormat.table(rows)
                if !header, let nl = text.firstIndex(of: 0x0A) { text.removeSubrange(0...nl) }
                if !rows.isEmpty || header { Out.write(text) }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the hash chain; report the first broken link (edited, deleted, inserted or reordered row).",
            discussion: "Exit status 1 when the chain is broken.")

        @OptionGroup var location: LedgerLocation

        func run() throws {
            let ledger = try location.open(readOnly: true)
            let v = try ledger.verify()
            VerificationRecord(
                time: EventFormat.isoTime(currentTimeNanos()), rows: v.rowsChecked, intact: v.isIntact,
                firstBroken: v.firstBroken
            ).save(forLedger: ledger.path)
            if let seq = v.firstBroken {
                Out.line("ledger chain BROKEN at seq \(seq): \(v.reason ?? "")")
                throw ExitCode.failure
            }
            Out.line("ledger chain intact: \(v.rowsChecked) rows verified")
        }
    }
}
