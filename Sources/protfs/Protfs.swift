import ArgumentParser
import Foundation
import ProtStore

@main
struct Protfs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protfs",
        abstract: "Classify, label and protect files in a share; decide who may open them; record every access.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage error or invalid policy.
            Passphrases come from --passphrase-file, PROTFS_PASSPHRASE or a terminal prompt, never from arguments.
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(
                name: "Stores",
                subcommands: [
                    InitCommand.self, PasswdCommand.self, InfoCommand.self, StatusCommand.self, FsckCommand.self,
                    PolicyCommand.self, LabelCommand.self
                ]),
            CommandGroup(name: "Mounting", subcommands: [MountCommand.self, UnmountCommand.self]),
            CommandGroup(
                name: "Files outside a mount",
                subcommands: [
                    ProtectCommand.self, UnprotectCommand.self, ScanCommand.self, ImportCommand.self
                ]),
            CommandGroup(
                name: "Sharing",
                subcommands: [
                    ShareCommand.self, OpenCommand.self, TrackCommand.self, RevokeCommand.self, ServeCommand.self,
                    IdentityCommand.self
                ]),
            CommandGroup(name: "Audit", subcommands: [AuditCommand.self, ReportCommand.self]),
            CommandGroup(name: "Development", subcommands: [BenchCommand.self, DebugCommand.self])
        ]
    )

    /// ArgumentParser exits 64 on usage errors; protfs promises 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if let e = error as? ExitCode { Foundation.exit(e.rawValue) }
            if case StoreError.malformedPolicy = error {
                FileHandle.standardError.write(Data("protfs: error: \(error)\n".utf8))
                Foundation.exit(2)
            }
            if code == .validationFailure || error is ValidationError {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            FileHandle.standardError.write(Data("protfs: error: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }
}
