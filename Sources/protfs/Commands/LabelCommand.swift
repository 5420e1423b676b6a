import ArgumentParser
import Foundation
import ProtMount
import ProtStore
import ProtLedger
import ProtSystem

/// Labels through the mount: the same xattr ordinary tools see, so the mount decides and logs.
struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label", abstract: "Show and change labels of files in a mounted share.",
        subcommands: [Show.self, Set.self, List.self])

    static func get(_ path: String) -> String? { LabelAttribute.get(path) }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the label of each file.")
        @Argument(help: "Files in a mounted share.") var paths: [String]
        func run() throws {
            var failed = false
            for p in paths {
                if let l = LabelCommand.get(p) {
                    Out.line("\(p)\t\(l)")
                } else {
                    Out.warn("\(p): \(String(cString: strerror(errno)))"); failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Relabel a file (needs the owner right; a guarded downgrade needs --justify).")
        @Argument(help: "A file in a mounted share.") var path: String
        @Argument(help: "The new label.") var label: String
        @Option(help: "Why the label is lowered (recorded in the ledger).") var justify: String?
        func run() throws {
            let e = LabelAttribute.set(path, label: label, justification: justify)
            guard e == 0 else {
                if e == EPERM { throw ValidationError("\(path): this downgrade needs a justification: --justify TEXT") }
                throw StoreError.io(path, String(cString: strerror(e)))
            }
            Out.line("\(path)\t\(LabelCommand.get(path) ?? label)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "A tree of files with their labels.")
        @Argument(help: "A directory in a mounted share.") var dir: String
        @Option(help: "table, json or csv.") var format: OutputFormat = .table
        func run() throws {
            var rows: [[String]] = []
            let e = FileManager.default.enumerator(atPath: dir)
            while let rel = e?.nextObject() as? String {
                let full = dir + "/" + rel
                var st = stat()
                guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                rows.append([rel, LabelCommand.get(full) ?? "-", userName(uid: st.st_uid) ?? "\(st.st_uid)"])
            }
            Out.data(format, ["PATH", "LABEL", "OWNER"], rows.sorted { $0[0] < $1[0] })
        }
    }
}
