import ArgumentParser
import Foundation
import Glibc
import ProtContainer
import ProtShare
import ProtStore
import ProtSystem

struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open a portable protected copy (.pfs) shared with you.",
        discussion: """
            The key comes from your grant in the copy (offline shares), from an answer of the key service kept for \
            the share's offline period, or from the key service, which checks the grant, its expiry and revocation and \
            records the open. Every block is authenticated before anything is written: a tampered copy gives no output.
            """)

    @Argument(help: "The portable copy.") var file: String
    @Option(help: "Your private identity file (default: try each identity in the configuration directory).")
    var identity: String?
    @Option(name: .short, help: "Write the content to this file (default: the shared file's name, here).") var output:
        String?
    @Flag(help: "Write the content to standard output.") var stdout = false
    @Flag(name: .customLong("no-offline-copy"), help: "Do not keep the key service's answer for offline opens.")
    var noOfflineCopy = false

    func validate() throws {
        if output != nil && stdout { throw ValidationError("use -o or --stdout, not both") }
    }

    func run() throws {
        let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CommandFailure("\(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let opened = try openWithIdentities(fd)
        let env = opened.envelope
        let c = opened.container
        // Decrypted completely (every block authenticated) into an unlinked file before any output appears.
        let scratch = try MountControl.scratchFile()
        defer { close(scratch) }
        var off: UInt64 = 0
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while off < c.size {
            let n: Int
            do { n = try buf.withUnsafeMutableBytes { try c.read(into: $0, at: off) } } catch {
                throw ShareError.tampered("\(error)")
            }
            guard n > 0, buf.withUnsafeBytes({ pwrite(scratch, $0.baseAddress, n, off_t(off)) }) == n else {
                throw CommandFailure("writing the content: \(String(cString: strerror(errno)))")
            }
            off += UInt64(n)
        }
        if stdout {
            try copy(scratch, to: 1, count: off)
        } else {
            let dest = output ?? (env.fileName as NSString).lastPathComponent
            guard Glibc.access(dest, F_OK) != 0 else {
                throw CommandFailure("\(dest) exists; choose another name with -o")
            }
            let tmp = dest + ".tmp-\(getpid())"
            let out = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard out >= 0 else { throw CommandFailure("\(tmp): \(String(cString: strerror(errno)))") }
            do {
                try copy(scratch, to: out, count: off);
                guard fsync(out) == 0 else { throw CommandFailure("fsync \(tmp)") }
            } catch {
                close(out); unlink(tmp); throw error
            }
            close(out)
            guard rename(tmp, dest) == 0 else {
                unlink(tmp); throw CommandFailure("\(dest): \(String(cString: strerror(errno)))")
            }
        }
        Out.warn(
            "opened \(env.fileName) (label \(env.label), shared by \(env.sharer), rights \(opened.rights), key from "
                + "\(opened.keySource))"
        )
    }

    /// The named identity, or each one in the configuration directory until one holds a grant.
    func openWithIdentities(_ fd: Int32) throws -> ShareOpener.Opened {
        let offlineDir = noOfflineCopy ? nil : ShareOpener.defaultOfflineDir()
        if let identity {
            return try ShareOpener(identity: try PrivateIdentity.load(identity), offlineDir: offlineDir).open(
                fd: fd, name: file)
        }
        let dir = PrivateIdentity.directory()
        let keys = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".key") }
            .sorted()
        guard !keys.isEmpty else {
            throw CommandFailure("no identity in \(dir); create one with `protfs identity create` or pass --identity")
        }
        var last: Error?
        for k in keys {
            do {
                return try ShareOpener(identity: try PrivateIdentity.load(dir + "/" + k), offlineDir: offlineDir).open(
                    fd: fd, name: file)
            } catch let e as ShareError { if case .notARecipient = e { last = e; continue }; throw e }
        }
        throw last ?? CommandFailure("no identity can open \(file)")
    }

    func copy(_ from: Int32, to: Int32, count: UInt64) throws {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var off: UInt64 = 0
        while off < count {
            let n = buf.withUnsafeMutableBytes {
                pread(from, $0.baseAddress, min($0.count, Int(count - off)), off_t(off))
            }
            guard n > 0 else { throw CommandFailure("reading back: \(String(cString: strerror(errno)))") }
            if case .failure(let e) = buf.withUnsafeBytes({ writeAll(to, UnsafeRawBufferPointer(rebasing: $0[..<n])) })
            {
                throw CommandFailure("writing: \(e)")
            }
            off += UInt64(n)
        }
    }
}
