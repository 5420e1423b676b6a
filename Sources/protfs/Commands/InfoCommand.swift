import ArgumentParser
import Foundation
import ProtLedger
import ProtPolicy
import ProtStore

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a store's format, key versions and labels (no passphrase needed).")

    @Argument(help: "The store directory.") var store: String
    @Option(help: "table or json.") var format: OutputFormat = .table

    func run() throws {
        let c = try Store.readConfig(at: store)
        let policy = try? PolicyLoader.load(file: Store.policyPath(store)).policy
        let rows = (try? Ledger(path: Store.ledgerPath(store), readOnly: true))?.rowCount ?? 0
        if format == .json {
            Out.json([
                "store": store, "format": c.format, "version": c.version, "store_id": c.storeId, "created": c.created,
                "kdf": c.kdf.kind, "policy": policy?.name ?? "?", "policy_sha256": c.policySHA256,
                "label_key_versions": c.labelKeyVersions, "ledger_rows": rows
            ])
            return
        }
        Out.line("store:         \(store)")
        Out.line("format:        \(c.format) v\(c.version)")
        Out.line("store id:      \(c.storeId)")
        Out.line("created:       \(c.created)")
        let kdf =
            c.kdf.kind == "scrypt"
            ? "passphrase (scrypt N=2^\(c.kdf.logN ?? 0), r=\(c.kdf.r ?? 0), p=\(c.kdf.p ?? 0))"
            : "key file (HKDF-SHA256)"
        Out.line("unlocked by:   \(kdf)")
        Out.line("policy:        \(policy?.name ?? "unreadable") (sha256 \(c.policySHA256.prefix(16))…)")
        Out.line("ledger rows:   \(rows)")
        Out.line("labels:")
        guard let policy else { return }
        func show(_ parent: String?, _ depth: Int) {
            for l in policy.children(of: parent) {
                let applicable = policy.isApplicable(l.id) ? "" : " (heading)"
                Out.line(
                    String(repeating: "  ", count: depth + 1)
                        + "\(l.id)  rank \(l.rank)  key v\(c.labelKeyVersions[l.id] ?? 1)\(applicable)")
                show(l.id, depth + 1)
            }
        }
        show(nil, 0)
    }
}
