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
        subcommands: [InitCommand.self, PasswdCommand.self, InfoCommand.self, ProtectCommand.self, UnprotectCommand.self,
                      FsckCommand.self, MountCommand.self, UnmountCommand.self, StatusCommand.self, IdentityCommand.self,
                      ShareCommand.self, OpenCommand.self, ServeCommand.self, TrackCommand.self, RevokeCommand.self,
                      ScanCommand.self, ImportCommand.self, LabelCommand.self, PolicyCommand.self, AuditCommand.self, ReportCommand.self, BenchCommand.self,
                      DebugCommand.self]
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
