import CLinux
import Foundation
import Glibc
import ProtMount
import ArgumentParser
import ProtShare
import ProtStore

/// Talks to the daemon of the mount that holds a path: a getxattr whose name carries a descriptor of this
/// process holding the request; the value that comes back is the daemon's JSON answer.
struct MountControl {
    let mountpoint: String
    let store: String

    /// The protfs mount containing `path` (absolute), and the path inside it.
    static func containing(_ path: String) -> (MountControl, String)? {
        let candidates = MountTable.entries().filter { $0.type == "fuse.protfs" }
            .filter { path == $0.target || path.hasPrefix($0.target == "/" ? "/" : $0.target + "/") }
        guard let m = candidates.max(by: { $0.target.count < $1.target.count }) else { return nil }
        let rel = String(path.dropFirst(m.target.count))
        return (MountControl(mountpoint: m.target, store: m.source), rel.isEmpty ? "/" : rel)
    }

    /// The store's checked public identities, as its daemon lists them.
    func recipients() throws -> [PublicIdentity] {
        let text = String(decoding: try Self.getxattr(mountpoint, "user.protfs.recipients"), as: UTF8.self)
        return text.split(separator: "\n").compactMap { try? PublicIdentity.parse(String($0)) }
    }

    /// Sends `request` (JSON) for `path` under the attribute prefix; returns the daemon's answer.
    func ask<R: Encodable>(_ path: String, prefix: String, request: R) throws -> ControlAnswer {
        let fd = try Self.scratchFile()
        defer { close(fd) }
        let body = Array(try JSONEncoder().encode(request))
        guard body.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == body.count else {
            throw CommandFailure("cannot write the request")
        }
        let value = try Self.getxattr(path, prefix + ".\(fd)")
        guard let a = try? JSONDecoder().decode(ControlAnswer.self, from: Data(value)) else {
            throw CommandFailure("unreadable answer from the mount daemon")
        }
        return a
    }

    /// An unlinked 0600 file in the temporary directory, open for reading and writing.
    static func scratchFile() throws -> Int32 {
        var template = Array(((ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/protfs-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw CommandFailure("cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    static func getxattr(_ path: String, _ name: String) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        let n = CLinux.getxattr(path, name, &buf, buf.count)
        guard n >= 0 else {
            let e = errno
            if e == ENODATA || e == ENOTSUP {
                throw CommandFailure("\(path): the mount does not answer \(name) (an older protfs daemon?)")
            }
            throw CommandFailure("\(path): \(String(cString: strerror(e)))")
        }
        return Array(buf.prefix(n))
    }
}

struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
