import ArgumentParser
import Foundation
import Logging
import ProtMount
import ProtAccess
import ProtStore

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract:
            "Mount a store: files written are labeled and encrypted, reads are decided by label rights, all logged.",
        discussion: """
            Returns once the mount is ready and serves it from a background daemon (log in STORE/.protfs/mount.log);
            --foreground keeps it attached (for systemd and debugging, log on stderr). SIGTERM, SIGINT and
            `protfs unmount` flush the ledger and exit cleanly.
            """)

    @Argument(help: "The store directory.") var store: String
    @Argument(help: "An empty directory to mount on.") var mountpoint: String
    @Flag(name: .shortAndLong, help: "Stay in the foreground.") var foreground = false
    @Option(help: "Ledger file (default STORE/.protfs/ledger.db).") var ledger: String?
    @Option(name: .short, help: "Extra FUSE mount options, comma-separated (e.g. ro).") var o: [String] = []
    @Option(
        help: ArgumentHelp(
            "Which operations wait for their ledger row: grants (opens and creates: no access before its row is "
                + "committed; other rows within 10 ms), sync (all), write-behind (none).",
            valueName: "grants|sync|write-behind"))
    var ledgerCommit: LedgerMode = .grants
    @Option(help: ArgumentHelp("FUSE worker threads.", visibility: .hidden)) var threads: UInt32 = 8
    @OptionGroup var credentials: CredentialOptions

    func run() throws {
        let inherited = InheritedDescriptors.snapshot()
        // The daemon runs from /: every path it keeps must be absolute.
        let s = try credentials.unlock(Actor.absolute(store))
        InheritedDescriptors.close(inherited)
        let logger: Logger
        if foreground {
            logger = Logger(label: "protfs") { StreamLogHandler.standardError(label: $0) }
        } else {
            let path = Store.ledgerPath(s.root).replacingOccurrences(of: "ledger.db", with: "mount.log")
            logger = Logger(label: "protfs") { FileLogHandler(label: $0, path: path) }
        }
        var options = MountSession.Options(mountpoint: Actor.absolute(mountpoint))
        options.foreground = foreground
        options.ledgerPath = ledger.map(Actor.absolute)
        options.fuseOptions = o.flatMap { $0.split(separator: ",").map(String.init) }
        options.threads = threads
        options.ledgerMode = ledgerCommit
        try MountSession.run(store: s, options: options, log: logger)
    }
}

extension LedgerMode: ExpressibleByArgument {}
