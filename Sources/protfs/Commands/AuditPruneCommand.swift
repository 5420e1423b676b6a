import ArgumentParser
import Foundation
import Glibc
import ProtLedger
import ProtPolicy
import ProtStore
import ProtSystem

extension AuditCommand {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete rows older than a date; an anchor keeps the remaining chain verifiable.",
            discussion: """
                Rows younger than the policy's ledger_retention (default 90d) are never deleted. The deletion is \
                confirmed interactively, or by --yes. --export writes the rows to a file first, one JSON object \
                per line with each row's previous and own hash, so the removed run can be checked link by link \
                and joins the anchor the prune leaves.
                """)

        @OptionGroup var location: AuditCommand.LedgerLocation
        @Option(help: "Delete rows before this time (ISO-8601 or a duration ago such as 365d).") var before: String
        @Flag(help: "Delete without asking.") var yes = false
        @Option(help: "Write the rows to this new file (JSON lines) before deleting them.") var export: String?

        func validate() throws {
            if TimeArgument.parse(before) == nil {
                throw ValidationError("--before: cannot read '\(before)' as a time or duration")
            }
        }

        func run() throws {
            let cutoff = TimeArgument.parse(before)!
            let retention = try Self.retention(location.store)
            let youngest = currentTimeNanos() - retention * 1_000_000_000
            guard cutoff <= youngest else {
                throw CommandFailure(
                    "refused: the policy keeps ledger rows for \(retention / 86_400) days (ledger_retention); "
                        + "--before must be \(EventFormat.isoTime(youngest)) or earlier")
            }
            let ledger = try location.open(readOnly: false)
            defer { ledger.close() }
            guard let (seq, count) = try ledger.pruneCutoff(before: cutoff) else {
                return Out.line("nothing to prune: no row is older than \(EventFormat.isoTime(cutoff))")
            }
            if !yes {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CommandFailure("not pruned: \(count) rows would be deleted; add --yes to confirm")
                }
                FileHandle.standardError.write(Data("delete \(count) ledger rows (through seq \(seq))? [y/N] ".utf8))
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                    throw CommandFailure("not pruned: not confirmed")
                }
            }
            if let export { try Self.export(ledger, through: seq, to: export) }
            let n = try ledger.prune(before: cutoff, by: Actor.event(.prune))
            Out.line("pruned \(n) rows; chain \(try ledger.verify().isIntact ? "verifies" : "DOES NOT VERIFY")")
        }

        /// The store's ledger_retention, from its policy file (the default when the policy cannot be read, as
        /// for a ledger given by path alone: the safer of the two).
        static func retention(_ store: String) throws -> Int64 {
            guard let root = try? StoreLocator.resolve(store),
                let policy = try? PolicyLoader.load(file: Store.policyPath(root)).policy
            else { return Policy.defaultLedgerRetention }
            return policy.ledgerRetention
        }

        /// The rows a prune through `seq` deletes, in chain order, to a new file, synced before anything is
        /// deleted.
        static func export(_ ledger: Ledger, through seq: Int64, to path: String) throws {
            var f = LedgerFilter()
            f.throughSeq = seq
            let rows = try ledger.query(f).sorted { $0.seq < $1.seq }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw CommandFailure("not pruned: cannot create \(path): \(Errno.current) (it must not exist yet)")
            }
            defer { close(fd) }
            var bytes: [UInt8] = []
            for r in rows { bytes += EventFormat.jsonLine(r) }
            if case .failure(let e) = bytes.withUnsafeBytes({ writeAll(fd, $0) }) {
                throw CommandFailure("not pruned: writing \(path): \(e)")
            }
            guard fsync(fd) == 0 else { throw CommandFailure("not pruned: syncing \(path): \(Errno.current)") }
            Out.line("exported \(rows.count) rows to \(path)")
        }
    }
}
