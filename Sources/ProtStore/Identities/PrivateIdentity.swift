import Foundation
import Glibc
import ProtCrypto

/// The recipient's side: the key pair, kept in a 0600 file under the user's configuration directory,
/// never in a store.
public struct PrivateIdentity {
    public let identity: PublicIdentity
    public let privateKey: SecureBytes

    public static func create(name: String, email: String?) throws -> PrivateIdentity {
        let pair = try X25519.generate()
        return PrivateIdentity(
            identity: try PublicIdentity(name: name, email: email, publicKey: pair.publicKey),
            privateKey: pair.privateKey)
    }

    /// `$PROTFS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/protfs`, else `~/.config/protfs`; identities in `identities/`.
    public static func directory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["PROTFS_CONFIG_DIR"], !d.isEmpty { return d + "/identities" }
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { return x + "/protfs/identities" }
        let home = env["HOME"] ?? (getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) } ?? "/root")
        return home + "/.config/protfs/identities"
    }

    public static func path(for name: String, in dir: String = directory()) -> String { dir + "/\(name).key" }

    /// Written with O_EXCL and mode 0600 in a 0700 directory: an existing identity is never replaced.
    public func save(in dir: String = directory()) throws -> String {
        try FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = Self.path(for: identity.name, in: dir)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw IdentityError.exists(path) }
            throw IdentityError.malformed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((identity.line + "\n" + "private " + Hex.encode(privateKey.exportBytes()) + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
            throw IdentityError.malformed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    public static func load(_ path: String) throws -> PrivateIdentity {
        var st = stat()
        guard stat(path, &st) == 0 else { throw IdentityError.notFound("at \(path)") }
        guard st.st_mode & 0o077 == 0 else {
            throw IdentityError.malformed(
                "\(path) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        guard lines.count == 2, lines[1].hasPrefix("private "), let raw = Hex.decode(String(lines[1].dropFirst(8))),
            raw.count == X25519.keySize
        else {
            throw IdentityError.malformed("\(path) is not a protfs private identity")
        }
        let id = try PublicIdentity.parse(lines[0])
        let key = SecureBytes(raw)
        guard try X25519.publicKey(forPrivate: key) == id.publicKey else {
            throw IdentityError.malformed("\(path): the private key does not match the public one")
        }
        return PrivateIdentity(identity: id, privateKey: key)
    }
}
