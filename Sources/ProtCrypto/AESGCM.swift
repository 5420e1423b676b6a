import COpenSSL
import Glibc

/// AES-256-GCM over OpenSSL EVP. The cipher is fetched once; each thread keeps its own
/// encrypt and decrypt contexts and re-keys them only when a different key is used.
/// Sealed layout: nonce (12) || ciphertext || tag (16).
public enum AESGCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16
    public static let overhead = nonceSize + tagSize

    /// Seals `plaintext` with a fresh random nonce into `out`, which must hold `plaintext.count + overhead` bytes.
    public static func seal(
        key: SecureBytes, plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) throws {
        guard out.count == plaintext.count + overhead else { throw CryptoError.invalidLength("seal output") }
        try ThreadContexts.current.nonce(into: out.baseAddress!)
        try sealWithNonce(key: key, plaintext: plaintext, aad: aad, into: out)
    }

    /// Seals with the nonce already in `out[0..<12]`. Only for known-answer tests and `seal`.
    public static func sealWithNonce(
        key: SecureBytes, plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) throws {
        guard key.count == keySize else { throw CryptoError.invalidLength("AES-256 key") }
        guard out.count == plaintext.count + overhead else { throw CryptoError.invalidLength("seal output") }
        let ctx = try ThreadContexts.current.encryptor(for: key)
        let base = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard EVP_EncryptInit_ex2(ctx, nil, nil, base, nil) == 1 else { throw CryptoError.openssl("set IV") }
        var len: Int32 = 0
        if aad.count > 0 {
            guard
                EVP_EncryptUpdate(
                    ctx, nil, &len, aad.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    Int32(aad.count)) == 1
            else { throw CryptoError.openssl("AAD") }
        }
        if plaintext.count > 0 {
            guard
                EVP_EncryptUpdate(
                    ctx, base + nonceSize, &len,
                    plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    Int32(plaintext.count)) == 1
            else { throw CryptoError.openssl("encrypt") }
        }
        guard EVP_EncryptFinal_ex(ctx, base + nonceSize + plaintext.count, &len) == 1 else {
            throw CryptoError.openssl("encrypt final")
        }
        let tag = base + nonceSize + plaintext.count
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagSize), tag) == 1 else {
            throw CryptoError.openssl("get tag")
        }
    }

    /// Opens `sealed` into `out` (which must hold `sealed.count - overhead` bytes). Throws
    /// `authenticationFailed` and leaves `out` zeroed if the tag does not verify.
    public static func open(
        key: SecureBytes, sealed: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) throws {
        guard key.count == keySize else { throw CryptoError.invalidLength("AES-256 key") }
        guard sealed.count >= overhead, out.count == sealed.count - overhead else {
            throw CryptoError.invalidLength("sealed block")
        }
        let ctx = try ThreadContexts.current.decryptor(for: key)
        let base = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let n = sealed.count - overhead
        guard EVP_DecryptInit_ex2(ctx, nil, nil, base, nil) == 1 else { throw CryptoError.openssl("set IV") }
        var len: Int32 = 0
        if aad.count > 0 {
            guard
                EVP_DecryptUpdate(
                    ctx, nil, &len, aad.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    Int32(aad.count)) == 1
            else { throw CryptoError.openssl("AAD") }
        }
        let dst = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
        if n > 0 {
            guard EVP_DecryptUpdate(ctx, dst, &len, base + nonceSize, Int32(n)) == 1 else {
                throw CryptoError.openssl("decrypt")
            }
        }
        let tag = UnsafeMutableRawPointer(mutating: base + nonceSize + n)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagSize), tag) == 1 else {
            throw CryptoError.openssl("set tag")
        }
        let ok = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) {
            EVP_DecryptFinal_ex(ctx, $0.baseAddress, &len)
        }
        if ok != 1 {
            if n > 0 { out.initializeMemory(as: UInt8.self, repeating: 0) }
            throw CryptoError.authenticationFailed
        }
    }

    // Array conveniences for small, non-hot-path values (wrapped keys, config).
    public static func seal(key: SecureBytes, plaintext: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + overhead)
        try plaintext.withUnsafeBytes { p in
            try aad.withUnsafeBytes { a in
                try out.withUnsafeMutableBytes { try seal(key: key, plaintext: p, aad: a, into: $0) }
            }
        }
        return out
    }

    /// Opens into key-material storage so unwrapped keys never live in an ordinary array.
    public static func openKey(key: SecureBytes, sealed: [UInt8], aad: [UInt8]) throws -> SecureBytes {
        guard sealed.count > overhead else { throw CryptoError.invalidLength("wrapped key") }
        let result = SecureBytes(count: sealed.count - overhead)
        try sealed.withUnsafeBytes { s in
            try aad.withUnsafeBytes { a in
                try result.withUnsafeMutableBytes { try open(key: key, sealed: s, aad: a, into: $0) }
            }
        }
        return result
    }
}

/// One encrypt and one decrypt context per thread: EVP contexts are not thread-safe,
/// and re-creating them per block costs more than the encryption itself.
final class ThreadContexts {
    // Fetched once, never freed or changed after; OpenSSL's fetched algorithms are safe to share across threads.
    nonisolated(unsafe) private static let cipher: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
    private static let tlsKey: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            if let raw { Unmanaged<ThreadContexts>.fromOpaque(raw).release() }
        }
        return k
    }()

    static var current: ThreadContexts {
        if let raw = pthread_getspecific(tlsKey) {
            return Unmanaged<ThreadContexts>.fromOpaque(raw).takeUnretainedValue()
        }
        let fresh = ThreadContexts()
        pthread_setspecific(tlsKey, Unmanaged.passRetained(fresh).toOpaque())
        return fresh
    }

    private let enc: OpaquePointer
    private let dec: OpaquePointer
    private var encKey: UInt64 = 0
    private var decKey: UInt64 = 0
    /// CSPRNG output fetched 4 KiB at a time: RAND_bytes costs about as much as sealing a block, so nonces are
    /// taken from a per-thread buffer of its output (each byte used once).
    private let nonces = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
    private var noncePos = 4096

    private init() {
        enc = EVP_CIPHER_CTX_new()
        dec = EVP_CIPHER_CTX_new()
    }

    deinit {
        EVP_CIPHER_CTX_free(enc)
        EVP_CIPHER_CTX_free(dec)
        nonces.deallocate()
    }

    func nonce(into dst: UnsafeMutableRawPointer) throws {
        if noncePos + AESGCM.nonceSize > 4096 {
            try Random.fill(UnsafeMutableRawBufferPointer(start: nonces, count: 4096))
            noncePos = 0
        }
        dst.copyMemory(from: nonces + noncePos, byteCount: AESGCM.nonceSize)
        (nonces + noncePos).initializeMemory(as: UInt8.self, repeating: 0, count: AESGCM.nonceSize)
        noncePos += AESGCM.nonceSize
    }

    func encryptor(for key: SecureBytes) throws -> OpaquePointer {
        try keyed(enc, &encKey, key, EVP_EncryptInit_ex2)
    }

    func decryptor(for key: SecureBytes) throws -> OpaquePointer {
        try keyed(dec, &decKey, key, EVP_DecryptInit_ex2)
    }

    /// Re-keys `ctx` only when `key` is not the one it already holds.
    private func keyed(
        _ ctx: OpaquePointer, _ current: inout UInt64, _ key: SecureBytes,
        _ initialise: (
            OpaquePointer?, OpaquePointer?, UnsafePointer<UInt8>?, UnsafePointer<UInt8>?, UnsafePointer<OSSL_PARAM>?
        ) -> Int32
    ) throws -> OpaquePointer {
        if current != key.identity {
            guard let cipher = Self.cipher else { throw CryptoError.openssl("AES-256-GCM unavailable") }
            let ok = key.withUnsafeBytes {
                initialise(ctx, cipher, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, nil)
            }
            guard ok == 1 else { current = 0; throw CryptoError.openssl("cipher init") }
            current = key.identity
        }
        return ctx
    }
}
