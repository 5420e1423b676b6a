import ArgumentParser
import Foundation
import Glibc
import ProtLedger
import ProtStore
import ProtContainer
import ProtMount

struct ProtectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protect",
        abstract: "Encrypt a plain file into a labeled container (administrator's offline path).")

    @Argument(help: "The plain file.") var source: String
    @Option(help: "The store whose keys and policy to use.") var store: String
    @Option(help: "The label to apply, e.g. confidential/finance.") var label: String
    @Option(name: .shortAndLong, help: "Where to write the container (must not exist).") var output: String
    @OptionGroup var credentials: CredentialOptions

    func run() throws {
        try credentials.recorded(
            store,
            failed: { error in
                Actor.event(.protect, .error, path: Actor.absolute(source), label: label, detail: "\(error)")
            }
        ) { s in
            let f = try s.protect(source: source, destination: output, label: label, owner: getuid())
            let row = Actor.event(
                .protect, path: Actor.absolute(source), newPath: Actor.absolute(output), label: f.labelId)
            return (row, "protected \(source) -> \(output) as \(f.labelId)")
        }
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
                try ledger.append(
                    Actor.event(
                        .repair, .allowed, path: "/" + f.path, label: f.report.label,
                        detail: "fsck --repair: torn tail cut to \(kept) bytes (\(lost) ciphertext bytes removed)"))
            case .notATornTail(let why):
                Out.warn("not repaired \(f.path): \(why)")
            }
        }
    }
}
