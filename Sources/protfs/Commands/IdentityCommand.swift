import ArgumentParser
import Foundation
import ProtStore

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Key pairs of people who receive protected copies, and the store's directory of known recipients.",
        discussion: """
            A private identity lives in a 0600 file under the user's configuration directory \
            ($PROTFS_CONFIG_DIR, $XDG_CONFIG_HOME/protfs or ~/.config/protfs), never in a store. Its public half is \
            one line of text (`identity export`) that can be mailed; `identity add` puts it into a store, MACed \
            under the store's master key so that nobody with write access to the store can swap a key.
            """,
        subcommands: [Create.self, Export.self, Add.self, List.self])

    struct Location: ParsableArguments {
        @Option(help: "Directory of private identities (default: see `protfs identity --help`).") var dir: String?
        var directory: String { dir ?? PrivateIdentity.directory() }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an X25519 key pair for NAME (private key 0600, never in a store).")
        @Argument(help: "The identity's name (letters, digits, ._-).") var name: String
        @Option(help: "An e-mail address to go with it.") var email: String?
        @OptionGroup var location: Location

        func validate() throws {
            if !PublicIdentity.isValidName(name) { throw ValidationError(IdentityError.badName(name).description) }
        }

        func run() throws {
            let p = try PrivateIdentity.create(name: name, email: email)
            let path = try p.save(in: location.directory)
            Out.line("created identity \(name) (fingerprint \(p.identity.fingerprint)) in \(path)")
            Out.line("share the public half: protfs identity export \(name)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public identity as one line of text.")
        @Argument(help: "The identity (default: the only one there is).") var name: String?
        @OptionGroup var location: Location

        func run() throws {
            let dir = location.directory
            let chosen: String
            if let name {
                chosen = name
            } else {
                let all = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
                    $0.hasSuffix(".key")
                }
                guard all.count == 1 else {
                    throw ValidationError(
                        all.isEmpty
                            ? "no identity in \(dir): protfs identity create NAME"
                            : "several identities in \(dir): name one")
                }
                chosen = String(all[0].dropLast(4))
            }
            Out.line(try PrivateIdentity.load(PrivateIdentity.path(for: chosen, in: dir)).identity.line)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a public identity (a file, or - for standard input) to a store's recipients.")
        @Argument(help: "The store directory.") var store: String
        @Argument(help: "A file holding the exported line, or - for standard input.") var file: String
        @OptionGroup var credentials: CredentialOptions

        func run() throws {
            let data =
                file == "-"
                ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            let id = try PublicIdentity.parse(String(decoding: data, as: UTF8.self))
            let s = try credentials.unlock(store)
            let path = try s.addRecipient(id)
            let ledger = try s.openLedger()
            defer { ledger.close() }
            try ledger.append(
                Actor.event(.keyChange, path: nil, detail: "recipient \(id.name) added (fingerprint \(id.fingerprint))")
            )
            Out.line(
                "\(id.name) (\(id.email ?? "no e-mail"), fingerprint \(id.fingerprint)) is a recipient of \(store): "
                    + "\(path)"
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List a store's recipients, each checked against its MAC.")
        @Argument(help: "The store directory.") var store: String
        @Option(help: "table, json or csv.") var format: OutputFormat = .table
        @OptionGroup var credentials: CredentialOptions

        func run() throws {
            let s = try credentials.unlock(store)
            let all = s.recipients()
            let rows = all.map { r in
                [
                    r.identity?.name ?? (r.file as NSString).lastPathComponent, r.identity?.email ?? "-",
                    r.identity?.fingerprint ?? "-", r.problem ?? "ok"
                ]
            }
            if rows.isEmpty && format == .table {
                Out.line("no recipients in \(store) (protfs identity add STORE FILE)"); return
            }
            Out.data(format, ["NAME", "EMAIL", "FINGERPRINT", "STATUS"], rows)
            if all.contains(where: { $0.problem != nil }) { throw ExitCode.failure }
        }
    }
}
