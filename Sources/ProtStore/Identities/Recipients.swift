import Foundation
import ProtCrypto

/// The store's directory of known recipients (`.protfs/recipients/NAME.id`). Each entry carries a MAC under a
/// key derived from the master key: someone who can write to the store cannot slip in or swap a public key
/// (shares made afterwards would be wrapped to it), because listing and sharing check the MAC.
extension Store {
    public static func recipientsDir(_ root: String) -> String { root + "/\(metaDirName)/recipients" }

    public struct Recipient: Sendable {
        public var file: String
        public var identity: PublicIdentity?
        /// Why the entry cannot be used (malformed, MAC mismatch), or nil.
        public var problem: String?
    }

    /// Adds a public identity; the same identity again is a no-op, a different key under a known name is refused.
    @discardableResult
    public func addRecipient(_ id: PublicIdentity) throws -> String {
        let dir = Self.recipientsDir(root)
        try FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = dir + "/\(id.name).id"
        if FileManager.default.fileExists(atPath: path) {
            let existing = recipient(at: path)
            if existing.identity == id { return path }
            throw IdentityError.exists("\(path) (a different key is known as '\(id.name)')")
        }
        try AtomicFile.write(
            Array((id.line + "\nmac " + (try recipientMAC(id.line)) + "\n").utf8), to: path, mode: 0o644)
        return path
    }

    public func recipients() -> [Recipient] {
        let dir = Self.recipientsDir(root)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".id") }
            .sorted()
        return names.map { recipient(at: dir + "/" + $0) }
    }

    func recipient(at path: String) -> Recipient {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return Recipient(file: path, problem: "unreadable")
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count == 2, lines[1].hasPrefix("mac "), let id = try? PublicIdentity.parse(lines[0]) else {
            return Recipient(file: path, problem: "malformed entry")
        }
        guard let mac = try? recipientMAC(lines[0]),
            ConstantTime.equal(Array(mac.utf8), Array(lines[1].dropFirst(4).utf8))
        else {
            return Recipient(file: path, identity: id, problem: "MAC does not verify (changed outside protfs)")
        }
        guard (path as NSString).lastPathComponent == id.name + ".id" else {
            return Recipient(file: path, identity: id, problem: "file name does not match the identity's name")
        }
        return Recipient(file: path, identity: id)
    }

    func recipientMAC(_ line: String) throws -> String {
        let key = try KDF.hkdf(
            key: masterKey, salt: Hex.decode(config.storeId) ?? [], info: Array("protfs v1 recipient mac".utf8))
        return Hex.encode(try Digest.hmacSHA256(key: key, data: Array(line.utf8)))
    }
}
