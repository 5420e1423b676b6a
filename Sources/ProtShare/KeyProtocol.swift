import Foundation
import ProtCrypto

/// The key service's one question and answer (docs/KEY-SERVICE.md).
///
/// The request proves possession of the recipient's private key with an HMAC under a key both sides derive
/// from X25519(recipient, service); a fresh nonce and the time make every request single-use. The answer
/// is the content key wrapped to the recipient's public key, bound to the share, the request's nonce and
/// the offline deadline, so it is useless to anyone else and its deadline cannot be edited.
public struct KeyRequest: Codable, Equatable, Sendable {
    public var shareId: String
    /// Recipient's X25519 public key, hex.
    public var recipient: String
    /// Unix seconds.
    public var time: Int64
    /// 16 random bytes, hex.
    public var nonce: String
    public var mac: String

    enum CodingKeys: String, CodingKey { case shareId = "share_id", recipient, time, nonce, mac }

    public static let maxBodyBytes = 4096
    /// Requests older or newer than this (seconds) are refused; nonces are remembered this long.
    public static let window: Int64 = 300

    public init(shareId: String, recipient: String, time: Int64, nonce: String, mac: String) {
        self.shareId = shareId; self.recipient = recipient; self.time = time; self.nonce = nonce; self.mac = mac
    }

    /// Signs a request for `shareId` as the holder of `privateKey`.
    public static func signed(
        shareId: String, privateKey: SecureBytes, servicePublicKey: [UInt8],
        now: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> KeyRequest {
        let mine = try X25519.publicKey(forPrivate: privateKey)
        var r = KeyRequest(
            shareId: shareId, recipient: Hex.encode(mine), time: now,
            nonce: Hex.encode(try Random.bytes(16)), mac: "")
        let key = try macKey(
            secret: try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: servicePublicKey),
            service: servicePublicKey, recipient: mine)
        r.mac = Hex.encode(try Digest.hmacSHA256(key: key, data: r.signedBytes))
        return r
    }

    public var signedBytes: [UInt8] { Array("protfs-key-request-v1\n\(shareId)\n\(recipient)\n\(time)\n\(nonce)".utf8) }

    public static func macKey(secret: SecureBytes, service: [UInt8], recipient: [UInt8]) throws -> SecureBytes {
        try KDF.hkdf(key: secret, salt: service + recipient, info: Array("protfs v1 key request".utf8))
    }

    /// Field shapes, checked before any cryptography.
    public var isWellFormed: Bool {
        ShareBook.isValidId(shareId) && recipient.count == 64 && Hex.decode(recipient) != nil
            && nonce.count == 32 && Hex.decode(nonce) != nil && mac.count == 64 && Hex.decode(mac) != nil
    }
}

public struct KeyAnswer: Codable, Equatable, Sendable {
    public var wrappedKey: String
    /// Unix nanoseconds until which the answer may be kept for offline opens; 0 for never.
    public var offlineUntil: Int64
    /// Unix nanoseconds; 0 for no expiry.
    public var expires: Int64
    public var rights: UInt16

    enum CodingKeys: String, CodingKey {
        case wrappedKey = "wrapped_key", offlineUntil = "offline_until", expires, rights
    }

    public init(wrappedKey: String, offlineUntil: Int64, expires: Int64, rights: UInt16) {
        self.wrappedKey = wrappedKey; self.offlineUntil = offlineUntil; self.expires = expires; self.rights = rights
    }

    /// The content key, for the holder of the recipient's private key and the request's nonce; nil otherwise.
    public func unwrap(privateKey: SecureBytes, shareId: String, nonce: String) -> SecureBytes? {
        let ctx = Self.context(
            shareId: shareId, nonce: nonce, offlineUntil: offlineUntil, expires: expires, rights: rights)
        guard let wrapped = Hex.decode(wrappedKey) else { return nil }
        return try? X25519.unwrap(wrapped, privateKey: privateKey, context: ctx)
    }

    /// What the wrapped key is bound to.
    public static func context(shareId: String, nonce: String, offlineUntil: Int64, expires: Int64, rights: UInt16)
        -> [UInt8]
    {
        Array("protfs v1 key answer \(shareId) \(nonce) \(offlineUntil) \(expires) \(rights)".utf8)
    }
}

/// The error body of every refusal.
public struct ServiceRefusal: Codable, Sendable {
    public var error: String
    public init(error: String) { self.error = error }
}
