import Foundation
import ProtCrypto
import ProtStore

/// One recipient of a share: someone with a public identity in the store, a local account, or both.
public struct ShareRecipient: Codable, Equatable, Sendable {
    public var name: String
    public var email: String?
    /// X25519 public key, hex; nil for a local account without a public identity.
    public var publicKey: String?
    /// Local account name whose `user:` grant makes the share effective inside the mount.
    public var localUser: String?

    public init(name: String, email: String? = nil, publicKey: String? = nil, localUser: String? = nil) {
        self.name = name; self.email = email; self.publicKey = publicKey; self.localUser = localUser
    }

    /// The identity string of its grant for a portable copy.
    public var keyGrantee: String? { publicKey.map { "x25519:" + $0 } }

    /// Every grant identity this recipient holds on a shared file.
    public var grantees: [String] { [keyGrantee, localUser.map { "user:" + $0 }].compactMap { $0 } }
}

/// What the store remembers of a share, sealed in `.protfs/shares/ID.share`: the key service answers from
/// it (it holds the content key, sealed under a key derived from the master key), revocation is written
/// into it, and `protfs track` reads it.
public struct ShareRecord: Codable, Equatable, Sendable {
    public var id: String
    public var fileId: String
    public var path: String
    public var label: String
    public var sharerUid: UInt32
    public var sharer: String
    public var recipients: [ShareRecipient]
    public var rights: UInt16
    /// Unix nanoseconds.
    public var created: Int64
    public var expires: Int64?
    public var tracked: Bool
    /// How long a recipient may keep a key-service answer for offline use; 0 for never.
    public var offlineSeconds: Int64
    public var notify: Bool
    public var notifyTo: String?
    /// The content key sealed under the store's share-record key, hex.
    public var sealedKey: String
    /// Revocation time per recipient name; `*` revokes every recipient.
    public var revoked: [String: Int64]

    public init(
        id: String, fileId: String, path: String, label: String, sharerUid: UInt32, sharer: String,
        recipients: [ShareRecipient], rights: UInt16, created: Int64, expires: Int64?, tracked: Bool,
        offlineSeconds: Int64, notify: Bool, notifyTo: String?, sealedKey: String
    ) {
        self.id = id; self.fileId = fileId; self.path = path; self.label = label; self.sharerUid = sharerUid
        self.sharer = sharer; self.recipients = recipients; self.rights = rights; self.created = created
        self.expires = expires; self.tracked = tracked; self.offlineSeconds = offlineSeconds; self.notify = notify
        self.notifyTo = notifyTo; self.sealedKey = sealedKey; self.revoked = [:]
    }

    public func isRevoked(for recipient: String) -> Bool { revoked["*"] != nil || revoked[recipient] != nil }
    public func isExpired(now: Int64) -> Bool { expires.map { now >= $0 } ?? false }

    /// The AAD of the sealed content key: binds it to this share and file.
    public static func keyAAD(shareId: String, fileId: String) -> [UInt8] {
        Array("protfs v1 share key \(shareId) \(fileId)".utf8)
    }
}

/// The sealed share records of one unlocked store.
public struct ShareBook: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public static func directory(_ root: String) -> String { root + "/\(Store.metaDirName)/shares" }
    public static func isValidId(_ id: String) -> Bool { id.count == 32 && Hex.decode(id) != nil }

    func key() throws -> SecureBytes { try store.purposeKey("share records") }
    public func sealingKey() throws -> SecureBytes { try store.purposeKey("share content keys") }

    public func save(_ r: ShareRecord) throws {
        let dir = Self.directory(store.root)
        try FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let json = try JSONEncoder().encode(r)
        let sealed = try AESGCM.seal(
            key: try key(), plaintext: Array(json), aad: Array("protfs v1 share record \(r.id)".utf8))
        try AtomicFile.write(sealed, to: dir + "/\(r.id).share", mode: 0o600)
    }

    /// The record, or nil if there is none; a record that fails authentication is an error, not "none".
    public func load(_ id: String) throws -> ShareRecord? {
        guard Self.isValidId(id) else { return nil }
        let path = Self.directory(store.root) + "/\(id).share"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard data.count < 1 << 20 else { throw ShareError.tampered("\(path) is too large") }
        let plain: SecureBytes
        do {
            plain = try AESGCM.openKey(
                key: try key(), sealed: Array(data), aad: Array("protfs v1 share record \(id)".utf8))
        } catch { throw ShareError.tampered("share record \(path) does not authenticate") }
        let record = try JSONDecoder().decode(ShareRecord.self, from: Data(plain.exportBytes()))
        guard record.id == id else { throw ShareError.tampered("share record \(path) names another share") }
        return record
    }

    /// Records the revocation of one recipient (by name or e-mail) or of everyone (nil); returns that recipient.
    @discardableResult
    public func revoke(_ r: inout ShareRecord, recipient: String?, now: Int64) throws -> ShareRecipient? {
        let who = try recipient.map { n -> ShareRecipient in
            guard let x = r.recipients.first(where: { $0.name == n || $0.email == n }) else {
                throw ShareError.notARecipient("share \(r.id) has no recipient '\(n)'")
            }
            return x
        }
        r.revoked[who?.name ?? "*"] = now
        try save(r)
        return who
    }

    public func all() -> [ShareRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.directory(store.root))) ?? []
        return names.filter { $0.hasSuffix(".share") }.sorted().compactMap { try? load(String($0.dropLast(6))) }
    }
}
