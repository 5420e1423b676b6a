import Foundation
import ProtCrypto

/// `.protfs/config.json`: everything needed to unlock the store, nothing secret in the clear.
/// The master key is sealed (AES-256-GCM) under a key from the passphrase (scrypt) or a key file (HKDF);
/// the KDF parameters are bound into that seal as AAD, and the whole config is MACed under the master key.
public struct StoreConfig: Codable, Equatable, Sendable {
    public static let currentVersion = 1
    public static let formatName = "protfs-store"

    public struct KDF: Codable, Equatable, Sendable {
        /// "scrypt" (passphrase) or "keyfile".
        public var kind: String
        public var salt: String
        public var logN: Int?
        public var r: Int?
        public var p: Int?
    }

    public var format: String
    public var version: Int
    public var storeId: String
    public var created: String
    public var kdf: KDF
    public var sealedMasterKey: String
    public var labelKeyVersions: [String: UInt32]
    public var policySHA256: String
    public var mac: String

    enum CodingKeys: String, CodingKey {
        case format, version, storeId = "store_id", created, kdf, sealedMasterKey = "sealed_master_key"
        case labelKeyVersions = "label_key_versions", policySHA256 = "policy_sha256", mac
    }

    /// AAD of the sealed master key: a config with altered KDF parameters cannot unseal it.
    var sealAAD: [UInt8] {
        Array("protfs store v1|\(storeId)|\(kdf.kind)|\(kdf.salt)|\(kdf.logN ?? 0)|\(kdf.r ?? 0)|\(kdf.p ?? 0)".utf8)
    }

    /// The bytes the config MAC covers: every field but the MAC, in a fixed order.
    var macInput: [UInt8] {
        var s = "protfs config v1|\(format)|\(version)|\(storeId)|\(created)|\(sealedMasterKey)|\(policySHA256)"
        s += "|" + String(decoding: sealAAD, as: UTF8.self)
        for k in labelKeyVersions.keys.sorted() { s += "|\(k)=\(labelKeyVersions[k]!)" }
        return Array(s.utf8)
    }
}
