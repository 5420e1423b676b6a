import ArgumentParser
import Foundation
import Glibc
import ProtLedger
import ProtStore
import ProtContainer
import ProtMount

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check every header MAC and block tag in a store; list corrupt files and blocks.",
        discussion: """
            Exit status 1 when any container is damaged. --repair cuts containers whose tail was torn by an \
            interrupted write (daemon killed, power lost) back to the blocks that verify; run it only after such a \
            crash, with the store unmounted: a cut file is indistinguishable from a truncation attack. Damage \
            anywhere else is never repaired. Every repair is a ledger row.
            """)

    @Argument(help: "The store directory.") var store: String
    @Option(help: "table, json or csv.") var format: OutputFormat = .table
    @Flag(help: "Cut torn tails back to the blocks that verify (after a crash only).") var repair = false
    @OptionGroup var credentials: CredentialOptions

    func run() throws {
        let s = try credentials.unlock(store)
        if repair {
            guard MountTable.mountpoints(ofStore: Actor.absolute(store)).isEmpty else {
                throw ValidationError("unmount the store before --repair")
            }
            try repairTornTails(s)
        }
        let tty = isatty(STDERR_FILENO) == 1
        let (checked, findings) = s.fsck { n, path in
            if tty {
                let shown = EventFormat.printable(Array(path.utf8)).prefix(60)
                FileHandle.standardError.write(Data("\r\u{1B}[Kchecking \(n): \(shown)".utf8))
            }
        }
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let rows = findings.map { f in
            [
                f.path, f.report.label ?? "-", f.report.problems.joined(separator: "; "),
                f.report.badBlocks.map(String.init).joined(separator: " ")
            ]
        }
        if !findings.isEmpty {
            let ledger = try s.openLedger()
            for f in findings {
                try ledger.append(
                    Actor.event(
                        .integrityFailure, .error, path: "/" + f.path, label: f.report.label,
                        detail: "fsck: " + Self.summary(f.report)))
            }
            ledger.close()
        }
        if format == .table {
            if !rows.isEmpty {
                Out.table(
                    ["FILE", "LABEL", "PROBLEMS", "BAD BLOCKS"],
                    rows.map { $0.map { EventFormat.printable(Array($0.utf8)) } })
            }
            Out.line("\(checked) containers checked, \(findings.count) damaged")
        } else {
            Out.data(format, ["file", "label", "problems", "bad_blocks"], rows)
        }
        if !findings.isEmpty { throw ExitCode.failure }
    }

    /// A damaged container's problems and bad blocks, for its ledger row.
    static func summary(_ r: ContainerReport) -> String {
        let blocks = r.badBlocks.isEmpty ? [] : ["bad blocks \(r.badBlocks.map(String.init).joined(separator: ","))"]
        return (r.problems + blocks).joined(separator: "; ")
    }
}
