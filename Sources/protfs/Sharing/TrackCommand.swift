import ArgumentParser
import Foundation
import ProtLedger
import ProtShare

struct TrackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "track",
        abstract: "Every share of a file, and every open and refused attempt, from the ledger.",
        discussion: "Reads the store's ledger (as `protfs audit` does): run it where the ledger is readable.")

    @Argument(help: "A file inside a protfs mount, or a share id.") var target: String
    @Option(help: "With a share id: the store directory or its mountpoint.") var store: String?
    @Option(help: "table, json (one object per line) or csv.") var format: OutputFormat = .table

    var isShareId: Bool { ShareBook.isValidId(target) && !FileManager.default.fileExists(atPath: target) }

    func validate() throws {
        if isShareId && store == nil { throw ValidationError("a share id needs --store STORE|MOUNTPOINT") }
    }

    func run() throws {
        // A share id names its store; a path names its mount and the path inside it.
        let located = isShareId ? nil : MountControl.containing(Actor.absolute(target))
        if !isShareId && located == nil { throw CommandFailure("\(target) is not inside a protfs mount") }
        let ledger = try Ledger(
            path: try StoreLocator.ledgerPath(store: located?.0.mountpoint ?? store!, override: nil), readOnly: true)
        let ids: [String]
        if let (_, rel) = located {
            var f = LedgerFilter()
            f.event = .share
            f.path = Array(rel.utf8)
            ids = try ledger.query(f).filter { $0.outcome == .allowed && $0.path == Array(rel.utf8) }.compactMap {
                Self.shareId(in: $0.detail)
            }
        } else {
            ids = [target]
        }
        guard !ids.isEmpty else { throw CommandFailure("no share of \(target) in the ledger") }
        var rows: [[String]] = []
        for id in ids {
            var f = LedgerFilter()
            f.detailContains = "share=\(id)"
            for e in try ledger.query(f) {
                rows.append([
                    isoTime(e.time), e.kind.rawValue, e.outcome.rawValue, id,
                    e.user ?? e.uid.map { "uid:\($0)" } ?? "?",
                    Self.field("from", in: e.detail) ?? "", e.detail ?? ""
                ])
            }
        }
        rows.sort { $0[0] < $1[0] }
        Out.data(format, ["TIME", "EVENT", "OUTCOME", "SHARE", "WHO", "ADDRESS", "DETAIL"], rows)
    }

    static func shareId(in detail: String?) -> String? { field("share", in: detail) }

    /// `key=value` in a ledger detail (values end at a space, or at `:` for addresses).
    static func field(_ key: String, in detail: String?) -> String? {
        guard let d = detail, let r = d.range(of: key + "=") else { return nil }
        let v = d[r.upperBound...].prefix { $0 != " " }
        return String(v.hasSuffix(":") ? v.dropLast() : v)
    }
}
