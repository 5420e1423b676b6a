import ArgumentParser
import Foundation
import ProtContainer
import ProtLedger
import ProtMount
import ProtPolicy
import ProtStore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "The share at a glance: files and bytes per label, key versions, ledger size and last verification, the "
            + "policy.",
        discussion: """
            Needs no passphrase: labels are read from the container headers without checking their MACs (the \
            mount and `protfs fsck` do that), so a tampered header can misreport here but never grants access.
            """)

    @Argument(help: "The store directory or the mountpoint of a mounted store.") var target: String
    @Option(help: "table or json.") var format: OutputFormat = .table

    struct LabelCount { var files = 0, bytes: UInt64 = 0; var versions: Set<UInt32> = [] }

    func run() throws {
        let store = try StoreLocator.resolve(target)
        let config = try Store.readConfig(at: store)
        let policy = try? PolicyLoader.load(file: Store.policyPath(store)).policy
        let mounts = MountTable.mountpoints(ofStore: Actor.absolute(store))

        var labels: [String: LabelCount] = [:]
        var foreign: [String] = []
        let entries = TreeWalk(root: store, skipRootNames: [Array(Store.metaDirName.utf8)]).entries {
            Out.warn("status: \($0)")
        }
        for e in entries where e.kind == .file {
            let fd = open(store + "/" + e.text, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, let h = Container.peek(fd: fd) else {
                if fd >= 0 { close(fd) }; foreign.append(e.text); continue
            }
            close(fd)
            labels[h.labelId, default: LabelCount()].files += 1
            labels[h.labelId, default: LabelCount()].bytes += h.plaintextSize ?? 0
            labels[h.labelId, default: LabelCount()].versions.insert(h.labelKeyVersion)
        }
        let ledgerPath = try StoreLocator.ledgerPath(store: store, override: nil)
        let ledgerBytes = [ledgerPath, ledgerPath + "-wal"].reduce(UInt64(0)) { sum, p in
            var st = stat(); return sum + (stat(p, &st) == 0 ? UInt64(st.st_size) : 0)
        }
        let rows = (try? Ledger(path: ledgerPath, readOnly: true))?.rowCount ?? 0
        let verified = VerificationRecord.load(forLedger: ledgerPath)
        let order = labels.keys.sorted { (policy?.rank($0) ?? 0, $0) < (policy?.rank($1) ?? 0, $1) }
        let totalFiles = labels.values.reduce(0) { $0 + $1.files }
        let totalBytes = labels.values.reduce(UInt64(0)) { $0 + $1.bytes }

        if format == .json {
            Out.json([
                "store": store, "mounted_on": mounts, "policy": policy?.name ?? NSNull(),
                "policy_sha256": config.policySHA256,
                "files": totalFiles, "bytes": totalBytes, "not_containers": foreign,
                "labels": Dictionary(
                    uniqueKeysWithValues: order.map { id in
                        (
                            id,
                            [
                                "files": labels[id]!.files, "bytes": labels[id]!.bytes,
                                "key_versions": labels[id]!.versions.sorted(),
                                "current_key_version": config.labelKeyVersions[id] ?? 1
                            ] as [String: Any]
                        )
                    }),
                "ledger": [
                    "rows": rows, "bytes": ledgerBytes,
                    "last_verified": verified.map {
                        ["time": $0.time, "rows": $0.rows, "intact": $0.intact] as [String: Any]
                    } ?? NSNull()
                ]
            ])
            return
        }
        Out.line(
            "store:     "
                + "\(store)\(mounts.isEmpty ? " (not mounted)" : " (mounted on \(mounts.joined(separator: ", ")))")"
        )
        Out.line("policy:    \(policy?.name ?? "unreadable") (sha256 \(config.policySHA256.prefix(16))…)")
        Out.line(
            "content:   \(totalFiles) protected files, \(ProgressBar.bytes(totalBytes))"
                + (foreign.isEmpty ? "" : "; \(foreign.count) files that are not containers"))
        for f in foreign.prefix(10) { Out.line("           not a container: \(f)") }
        Out.line("")
        Out.table(
            ["LABEL", "FILES", "BYTES", "KEY VERSIONS", "CURRENT KEY"],
            order.map { id in
                [
                    id, String(labels[id]!.files), ProgressBar.bytes(labels[id]!.bytes),
                    labels[id]!.versions.sorted().map { "v\($0)" }.joined(separator: ","),
                    "v\(config.labelKeyVersions[id] ?? 1)"
                ]
            })
        Out.line("")
        let last =
            verified.map {
                "\($0.time), \($0.intact ? "intact" : "BROKEN at seq \($0.firstBroken ?? 0)"), \($0.rows) rows"
            } ?? "never (run protfs audit verify)"
        Out.line("ledger:    \(rows) rows, \(ProgressBar.bytes(ledgerBytes)); last verified: \(last)")
    }
}
