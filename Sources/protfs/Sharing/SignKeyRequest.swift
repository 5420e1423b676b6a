import ArgumentParser
import Foundation
import Glibc
import ProtCrypto
import ProtShare
import ProtStore

/// `protfs debug sign-key-request`: one signed request body, for tests of replays and stale times.
struct SignKeyRequest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-key-request",
        abstract: "Print a signed key request for a tracked copy.")
    @Argument var file: String
    @Option var identity: String
    @Option(name: .customLong("time-offset"), help: "Seconds added to the request time.") var timeOffset: Int64 = 0

    func run() throws {
        let me = try PrivateIdentity.load(identity)
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw CommandFailure("\(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let env = try PortableCopy.parse(fd: fd, name: file).envelope
        guard let s = env.service, let pub = Hex.decode(s.publicKey) else {
            throw CommandFailure("not a tracked share")
        }
        let r = try KeyRequest.signed(
            shareId: env.shareId, privateKey: me.privateKey, servicePublicKey: pub,
            now: Int64(Date().timeIntervalSince1970) + timeOffset)
        Out.write(Array(try JSONEncoder().encode(r)) + [0x0A])
    }
}
