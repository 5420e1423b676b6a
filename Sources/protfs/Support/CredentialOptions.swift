import ArgumentParser
import ProtStore

/// How a command unlocks a store. Passphrases are never accepted on the command line.
struct CredentialOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: "Read the passphrase from the first line of this file.")
    var passphraseFile: String?

    @Option(
        name: .customLong("key-file"),
        help: "Unlock with a key file (at least 32 random bytes) instead of a passphrase.")
    var keyFile: String?

    func validate() throws {
        if passphraseFile != nil && keyFile != nil {
            throw ValidationError("use --passphrase-file or --key-file, not both")
        }
    }

    func credential(confirm: Bool = false) throws -> Credential {
        if let keyFile { return .keyFile(keyFile) }
        return try Credential.passphrase(file: passphraseFile, prompt: "Passphrase: ", confirm: confirm)
    }

    func unlock(_ store: String) throws -> Store {
        _ = try Store.readConfig(at: store)  // a clear "not a store" before any prompt
        return try Store.open(at: store, credential: try credential())
    }
}
