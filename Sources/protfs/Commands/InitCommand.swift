import ArgumentParser
import Foundation
import ProtCrypto
import ProtLedger
import ProtStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a protected store: a sealed master key, the label policy and an empty ledger.",
        discussion: "With --key-file, a missing key file is created (64 random bytes, mode 0400).")

    @Argument(help: "The store directory (created if missing).") var store: String
    @Option(help: "Label policy (YAML). Default: Policies/default.yaml in the current directory.") var policy: String?
    @OptionGroup var credentials: CredentialOptions
    @Option(
        name: .customLong("scrypt-log-n"),
        help: ArgumentHelp("scrypt cost as log2(N); 16 uses about 64 MiB.", visibility: .hidden))
    var scryptLogN: Int = KDF.ScryptParameters.interactive.logN

    func run() throws {
        let policyFile = policy ?? "Policies/default.yaml"
        guard FileManager.default.fileExists(atPath: policyFile) else {
            throw ValidationError("no policy file at \(policyFile); pass --policy FILE")
        }
        if FileManager.default.fileExists(atPath: Store.configPath(store)) {
            throw StoreError.alreadyInitialized(store)
        }
        if let kf = credentials.keyFile, !FileManager.default.fileExists(atPath: kf) {
            try Credential.createKeyFile(kf)
            Out.warn("created key file \(kf); keep it safe, the store cannot be opened without it")
        }
        let params = KDF.ScryptParameters(logN: scryptLogN, r: 8, p: 1)
        guard params.isSane else { throw ValidationError("--scrypt-log-n must be between 10 and 22") }
        let s = try Store.initialize(
            at: store, policyFile: policyFile, credential: try credentials.credential(confirm: true), scrypt: params)
        let ledger = try s.openLedger()
        try ledger.append(
            Actor.event(
                .policyChange, detail: "store initialized; policy '\(s.policy.name)' sha256 \(s.config.policySHA256)"))
        ledger.close()
        Out.line(
            "initialized store \(store) (id \(s.config.storeId), \(s.policy.labels.count) labels, policy "
                + "'\(s.policy.name)')"
        )
    }
}
