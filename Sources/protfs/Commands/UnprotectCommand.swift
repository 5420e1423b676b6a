import ArgumentParser
import Foundation
import Glibc
import ProtLedger
import ProtStore
import ProtContainer
import ProtMount

struct UnprotectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unprotect", abstract: "Decrypt a container to a plain file (administrator's offline path).")

    @Argument(help: "The container.") var source: String
    @Option(help: "The store whose keys to use.") var store: String
    @Option(name: .shortAndLong, help: "Where to write the plain file (must not exist).") var output: String
    @OptionGroup var credentials: CredentialOptions

    func run() throws {
        try credentials.recorded(
            store,
            failed: { error in
                Actor.event(.integrityFailure, .error, path: Actor.absolute(source), detail: "unprotect: \(error)")
            }
        ) { s in
            let f = try s.unprotect(source: source, destination: output)
            let row = Actor.event(
                .unprotect, path: Actor.absolute(source), newPath: Actor.absolute(output), label: f.labelId)
            return (row, "unprotected \(source) -> \(output) (was \(f.labelId))")
        }
    }
}
