import ArgumentParser
import Foundation
import ProtLedger
import ProtStore

struct PasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Re-seal the store's master key under a new passphrase or key file. No file is re-encrypted.")

    @Argument(help: "The store directory.") var store: String
    @OptionGroup var credentials: CredentialOptions
    @Option(name: .customLong("new-passphrase-file"), help: "Read the new passphrase from this file.")
    var newPassphraseFile: String?
    @Option(name: .customLong("new-key-file"), help: "Seal under this key file instead (created if missing).")
    var newKeyFile: String?

    func run() throws {
        let s = try credentials.unlock(store)
        let cred: Credential
        if let kf = newKeyFile {
            if !FileManager.default.fileExists(atPath: kf) { try Credential.createKeyFile(kf) }
            cred = .keyFile(kf)
        } else {
            cred = try Credential.passphrase(
                file: newPassphraseFile, environment: "PROTFS_NEW_PASSPHRASE",
                prompt: "New passphrase: ", confirm: true)
        }
        try s.changeCredential(to: cred)
        let ledger = try s.openLedger()
        let sealedUnder = newKeyFile == nil ? "passphrase" : "key file"
        try ledger.append(Actor.event(.keyChange, detail: "master key re-sealed (\(sealedUnder))"))
        ledger.close()
        Out.line("master key of \(store) re-sealed")
    }
}
