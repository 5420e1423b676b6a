import ArgumentParser
import Foundation
import Logging
import ProtMount
import ProtStore

struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmount", abstract: "Unmount a protfs mount.")
    @Argument(help: "The mountpoint.") var mountpoint: String

    func run() throws {
        let path = Actor.absolute(mountpoint)
        guard MountSession.isMounted(path) else { throw ValidationError("\(mountpoint) is not mounted") }
        try MountSession.unmount(path)
    }
}
