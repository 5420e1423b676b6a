import Foundation
import ProtCrypto
import ProtStore

/// The store's key service (`.protfs/service.json`): where recipients reach it, its X25519 key pair (the
/// private key sealed under a key derived from the master key) and how owners are notified. MACed like
/// every other store file, so someone who can write to the store cannot point shares at another service.
public struct ServiceConfig: Codable, Equatable, Sendable {
    public var url: String
    public var publicKey: String
    public var sealedPrivateKey: String
    /// A command that gets an RFC 5322 message on stdin, as argv; nil for none.
    public var notifyCommand: [String]?
    /// A URL that gets a JSON POST per notification; nil for none.
    public var notifyWebhook: String?
    /// Sender address of notification mails.
    public var notifyFrom: String?
    public var mac: String = ""

    public static func path(_ root: String) -> String { root + "/\(Store.metaDirName)/service.json" }
    public static let defaultNotifyCommand = ["sendmail", "-t"]

    /// Loads and checks the store's service configuration; nil when the store runs no key service.
    public static func load(_ store: Store) throws -> ServiceConfig? {
        let path = path(store.root)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let c = try? JSONDecoder().decode(ServiceConfig.self, from: data) else {
            throw StoreError.corruptConfig(path, "not a key service configuration")
        }
        guard ConstantTime.equal(Array(try c.computeMAC(store).utf8), Array(c.mac.utf8)) else {
            throw StoreError.corruptConfig(path, "MAC does not verify (changed outside protfs)")
        }
        return c
    }

    /// A configuration with a new key pair.
    public static func create(_ store: Store, url: String) throws -> ServiceConfig {
        let pair = try X25519.generate()
        let sealed = try AESGCM.seal(
            key: try store.purposeKey("key service private key"), plaintext: pair.privateKey.exportBytes(),
            aad: Array("protfs v1 service key \(Hex.encode(pair.publicKey))".utf8))
        return ServiceConfig(
            url: url, publicKey: Hex.encode(pair.publicKey), sealedPrivateKey: Hex.encode(sealed),
            notifyCommand: nil, notifyWebhook: nil, notifyFrom: nil)
    }

    public func privateKey(_ store: Store) throws -> SecureBytes {
        guard let sealed = Hex.decode(sealedPrivateKey) else {
            throw StoreError.corruptConfig(Self.path(store.root), "sealed key")
        }
        return try AESGCM.openKey(
            key: try store.purposeKey("key service private key"), sealed: sealed,
            aad: Array("protfs v1 service key \(publicKey)".utf8))
    }

    public func save(_ store: Store) throws {
        var c = self
        c.mac = try computeMAC(store)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(Array(try enc.encode(c)) + [0x0A], to: Self.path(store.root), mode: 0o600)
    }

    func computeMAC(_ store: Store) throws -> String {
        var c = self
        c.mac = ""
        let bytes = try JSONEncoder.sorted.encode(c)
        return Hex.encode(try Digest.hmacSHA256(key: try store.purposeKey("service config mac"), data: Array(bytes)))
    }

    public var publicKeyBytes: [UInt8] { Hex.decode(publicKey) ?? [] }
}
