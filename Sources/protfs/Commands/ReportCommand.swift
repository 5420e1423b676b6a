import ArgumentParser
import Foundation
import ProtLedger
import ProtPolicy

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Summarise the ledger: by label, user and event; refusals; busiest files.")

    @OptionGroup var location: AuditCommand.LedgerLocation
    @Option(help: "Only rows from this time (ISO-8601 or a duration ago such as 7d).") var since: String?
    @Option(help: "table or json.") var format: OutputFormat = .table

    func validate() throws {
        if let s = since, TimeArgument.parse(s) == nil {
            throw ValidationError("--since: cannot read '\(s)' as a time or duration")
        }
    }

    func run() throws {
        let r = try location.open(readOnly: true).report(since: since.flatMap { TimeArgument.parse($0) })
        if format == .json {
            func obj(_ p: [(String, Int64)]) -> [String: Int64] { Dictionary(p, uniquingKeysWith: +) }
            Out.json([
                "total": r.total, "denied": r.denied, "by_label": obj(r.byLabel), "by_user": obj(r.byUser),
                "by_event": obj(r.byEvent), "denied_by_user": obj(r.deniedByUser),
                "top_files": r.topFiles.map {
                    ["path": String(decoding: $0.0, as: UTF8.self), "events": $0.1] as [String: Any]
                }
            ])
            return
        }
        Out.line("events: \(r.total)   denied: \(r.denied)")
        let sections = [
            ("by label", r.byLabel), ("by user", r.byUser), ("by event", r.byEvent),
            ("denied by user", r.deniedByUser)
        ]
        for (title, pairs) in sections {
            Out.line("\n\(title):")
            Out.table(["NAME", "EVENTS"], pairs.map { [EventFormat.printable(Array($0.0.utf8)), "\($0.1)"] })
        }
        Out.line("\ntop files:")
        Out.table(["PATH", "EVENTS"], r.topFiles.map { [EventFormat.printable($0.0), "\($0.1)"] })
    }
}
