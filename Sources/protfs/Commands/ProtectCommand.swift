import ArgumentParser
import Foundation
import Glibc
import ProtLedger
import ProtStore
import ProtContainer
import ProtMount

struct ProtectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protect", abstract: "Encrypt a plain file into a labeled container (administrator's offline path).")

    @Argument(help: "The plain file.") var source: String
    @Option(help: "The store whose keys and policy to use.") var store: String
    @Option(help: "The label to apply, e.g. confidential/finance.") var label: String
    @Option(name: .shortAndLong, help: "Where to write the container (must not exist).") var output: String
    @OptionGroup var credentials: CredentialOptions

    func run() throws {
        let s = try credentials.unlock(store)
        let ledger = try s.openLedger()
        defer { ledger.close() }
        do {
            let f = try s.protect(source: source, destination: output, label: label, owner: getuid())
            try ledger.append(Actor.event(.protect, path: Actor.absolute(source), newPath: Actor.absolute(output), label: f.labelId))
            Out.line("protected \(source) -> \(output) as \(f.labelId)")
        } catch {
            _ = try? ledger.append(Actor.event(.protect, .error, path: Actor.absolute(source), label: label, detail: "\(error)"))
            throw error
        }
    }
}

struct UnprotectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unprotect", abstract: "Decrypt a container to a plain file (administrator's offline path).")

    @Argument(help: "The container.") var source: String
    @Option(help: "The store whose keys to use.") var store: String
    @Option(name: .shortAndLong, help: "Where to write the plain file (must not exist).") var output: String
    @OptionGroup var credentials: CredentialOptions

    func run() throws {
        let s = try credentials.unlock(store)
        let ledger = try s.openLedger()
        defer { ledger.close() }
        do {
            let f = try s.unprotect(source: source, destination: output)
            try ledger.append(Actor.event(.unprotect, path: Actor.absolute(source), newPath: Actor.absolute(output), label: f.labelId))
            Out.line("unprotected \(source) -> \(output) (was \(f.labelId))")
        } catch {
            _ = try? ledger.append(Actor.event(.integrityFailure, .error, path: Actor.absolute(source), detail: "unprotect: \(error)"))
            throw error
        }
    }
}

struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check every header MAC and block tag in a store; list corrupt files and blocks.",
        discussion: """
        Exit status 1 when any container is damaged. --repair cuts containers whose tail was torn by an         interrupted write (daemon killed, power lost) back to the blocks that verify; run it only after such         a crash, with the store unmounted: a cut file is indistinguishable from a truncation attack. Damage         anywhere else is never repaired. Every repair is a ledger row.
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
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[Kchecking \(n): \(EventFormat.printable(Array(path.utf8)).prefix(60))".utf8)) }
        }
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let rows = findings.map { f in
            [f.path, f.report.label ?? "-", f.report.problems.joined(separator: "; "),
             f.report.badBlocks.map(String.init).joined(separator: " ")]
        }
        if !findings.isEmpty {
            let ledger = try s.openLedger()
            for f in findings {
                try ledger.append(Actor.event(.integrityFailure, .error, path: "/" + f.path, label: f.report.label,
                                              detail: "fsck: " + (f.report.problems + (f.report.badBlocks.isEmpty ? [] : ["bad blocks \(f.report.badBlocks.map(String.init).joined(separator: ","))"])).joined(separator: "; ")))
            }
            ledger.close()
        }
        if format == .table {
            if !rows.isEmpty { Out.table(["FILE", "LABEL", "PROBLEMS", "BAD BLOCKS"], rows.map { $0.map { EventFormat.printable(Array($0.utf8)) } }) }
            Out.line("\(checked) containers checked, \(findings.count) damaged")
        } else {
            Out.data(format, ["file", "label", "problems", "bad_blocks"], rows)
        }
        if !findings.isEmpty { throw ExitCode.failure }
    }
}

extension FsckCommand {
    /// One pass of tail repair over the damaged containers; the check that follows reports what is left.
    func repairTornTails(_ s: Store) throws {
        let ledger = try s.openLedger()
        defer { ledger.close() }
        for f in s.fsck().findings {
            let fd = open(s.root + "/" + f.path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            switch try Container.repairTornTail(fd: fd, keys: s.keyLookup) {
            case .cut(let kept, let lost):
                Out.warn("repaired \(f.path): torn tail cut, \(kept) bytes kept, \(lost) bytes of ciphertext removed")
                try ledger.append(Actor.event(.repair, .allowed, path: "/" + f.path, label: f.report.label,
                                              detail: "fsck --repair: torn tail cut to \(kept) bytes (\(lost) ciphertext bytes removed)"))
            case .notATornTail(let why):
                Out.warn("not repaired \(f.path): \(why)")
            }
        }
    }
}
