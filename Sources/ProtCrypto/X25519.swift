import COpenSSL

/// X25519 key agreement (RFC 7748) and the key wrapping built on it for per-person grants:
/// an ephemeral key pair, HKDF-SHA256 over the shared secret, AES-256-GCM over the wrapped key.
public enum X25519 {
    public static let keySize = 32

    public struct KeyPair {
        public let privateKey: SecureBytes
        public let publicKey: [UInt8]
    }

    public static func generate() throws -> KeyPair {
        let key = try generateKey()
        defer { EVP_PKEY_free(key) }
        let priv = SecureBytes(count: keySize)
        var len = keySize
        guard
            priv.withUnsafeMutableBytes({
                EVP_PKEY_get_raw_private_key(key, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &len)
            }) == 1,
            len == keySize
        else { throw CryptoError.openssl("X25519 private key export") }
        return KeyPair(privateKey: priv, publicKey: try publicKey(of: key))
    }

    /// A fresh key pair as an OpenSSL key object (freed by the caller).
    private static func generateKey() throws -> OpaquePointer {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "X25519", nil) else {
            throw CryptoError.openssl("X25519 unavailable")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_generate(ctx, &pkey) == 1, let key = pkey else {
            throw CryptoError.openssl("X25519 keygen")
        }
        return key
    }

    public static func publicKey(forPrivate priv: SecureBytes) throws -> [UInt8] {
        let key = try privateKey(priv)
        defer { EVP_PKEY_free(key) }
        return try publicKey(of: key)
    }

    /// The raw shared secret. Callers must feed it through a KDF, never use it as a key directly.
    public static func sharedSecret(privateKey priv: SecureBytes, peerPublicKey: [UInt8]) throws -> SecureBytes {
        let mine = try privateKey(priv)
        defer { EVP_PKEY_free(mine) }
        return try derive(mine, peerPublicKey)
    }

    private static func derive(_ mine: OpaquePointer, _ peerPublicKey: [UInt8]) throws -> SecureBytes {
        guard peerPublicKey.count == keySize else { throw CryptoError.invalidLength("X25519 public key") }
        guard
            let peer = peerPublicKey.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_public_key_ex(nil, "X25519", nil, $0.baseAddress, keySize)
            })
        else { throw CryptoError.openssl("X25519 public key import") }
        defer { EVP_PKEY_free(peer) }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, mine, nil) else {
            throw CryptoError.openssl("X25519 derive ctx")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        let out = SecureBytes(count: keySize)
        var len = keySize
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) == 1,
            out.withUnsafeMutableBytes({
                EVP_PKEY_derive(ctx, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &len)
            }) == 1,
            len == keySize
        else {
            // Includes the all-zero output of a small-order peer point, which OpenSSL rejects.
            throw CryptoError.openssl("X25519 derive")
        }
        return out
    }

    /// Wraps `key` so only the holder of `recipientPublicKey`'s private key can unwrap it.
    /// Layout: ephemeral public key (32) || AES-GCM sealed key (12 + n + 16). `context` is bound as AAD.
    public static func wrap(_ key: SecureBytes, to recipientPublicKey: [UInt8], context: [UInt8]) throws -> [UInt8] {
        // The ephemeral key never leaves OpenSSL: exporting and re-importing it would cost a scalar multiplication.
        let eph = try generateKey()
        defer { EVP_PKEY_free(eph) }
        let ephPublic = try publicKey(of: eph)
        let kek = try wrappingKey(
            secret: try derive(eph, recipientPublicKey),
            ephemeral: ephPublic, recipient: recipientPublicKey, context: context)
        let sealed = try AESGCM.seal(key: kek, plaintext: key.exportBytes(), aad: context)
        return ephPublic + sealed
    }

    public static func unwrap(_ wrapped: [UInt8], privateKey: SecureBytes, context: [UInt8]) throws -> SecureBytes {
        guard wrapped.count > keySize + AESGCM.overhead else { throw CryptoError.invalidLength("X25519-wrapped key") }
        let eph = Array(wrapped[0..<keySize])
        let key = try Self.privateKey(privateKey)
        defer { EVP_PKEY_free(key) }
        let kek = try wrappingKey(
            secret: try derive(key, eph), ephemeral: eph, recipient: try publicKey(of: key), context: context)
        return try AESGCM.openKey(key: kek, sealed: Array(wrapped[keySize...]), aad: context)
    }

    private static func wrappingKey(secret: SecureBytes, ephemeral: [UInt8], recipient: [UInt8], context: [UInt8])
        throws -> SecureBytes
    {
        try KDF.hkdf(key: secret, salt: ephemeral + recipient, info: Array("protfs v1 x25519 key wrap".utf8) + context)
    }

    private static func privateKey(_ priv: SecureBytes) throws -> OpaquePointer {
        guard priv.count == keySize,
            let key = priv.withUnsafeBytes({
                EVP_PKEY_new_raw_private_key_ex(
                    nil, "X25519", nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), keySize)
            })
        else { throw CryptoError.openssl("X25519 private key import") }
        return key
    }

    private static func publicKey(of key: OpaquePointer) throws -> [UInt8] {
        var pub = [UInt8](repeating: 0, count: keySize)
        var len = keySize
        guard pub.withUnsafeMutableBufferPointer({ EVP_PKEY_get_raw_public_key(key, $0.baseAddress, &len) }) == 1,
            len == keySize
        else { throw CryptoError.openssl("X25519 public key export") }
        return pub
    }
}
