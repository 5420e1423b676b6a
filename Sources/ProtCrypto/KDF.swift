import COpenSSL
import Glibc

/// Key derivation: HKDF-SHA256 for keys from keys, scrypt for keys from passphrases.
public enum KDF {
    // Fetched once, never freed or changed after; OpenSSL's fetched algorithms are safe to share across threads.
    nonisolated(unsafe) private static let hkdf: OpaquePointer? = EVP_KDF_fetch(nil, "HKDF", nil)
    // OSSL_PARAM keeps the key-name pointers, so they must outlive the call: allocate them once. Only read after.
    nonisolated(unsafe) private static let pDigest = strdup("digest")!, pKey = strdup("key")!
    nonisolated(unsafe) private static let pSalt = strdup("salt")!, pInfo = strdup("info")!
    nonisolated(unsafe) private static let sha256Name = strdup("SHA256")!

    /// HKDF-SHA256 (RFC 5869) into key storage.
    public static func hkdf(key: SecureBytes, salt: [UInt8], info: [UInt8], length: Int = 32) throws -> SecureBytes {
        try key.withUnsafeBytes { ikm in try hkdf(ikm: ikm, salt: salt, info: info, length: length) }
    }

    public static func hkdf(ikm: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8], length: Int) throws
        -> SecureBytes
    {
        guard let kdf = hkdf, let ctx = EVP_KDF_CTX_new(kdf) else { throw CryptoError.openssl("HKDF unavailable") }
        defer { EVP_KDF_CTX_free(ctx) }
        let out = SecureBytes(count: length)
        var saltCopy = salt, infoCopy = info
        let ok: Int32 = saltCopy.withUnsafeMutableBytes { s in
            infoCopy.withUnsafeMutableBytes { i in
                var params: [OSSL_PARAM] = [
                    OSSL_PARAM_construct_utf8_string(pDigest, sha256Name, 0),
                    OSSL_PARAM_construct_octet_string(
                        pKey, UnsafeMutableRawPointer(mutating: ikm.baseAddress), ikm.count),
                    OSSL_PARAM_construct_octet_string(pSalt, s.baseAddress, s.count),
                    OSSL_PARAM_construct_octet_string(pInfo, i.baseAddress, i.count),
                    OSSL_PARAM_construct_end()
                ]
                return out.withUnsafeMutableBytes { o in
                    EVP_KDF_derive(ctx, o.baseAddress!.assumingMemoryBound(to: UInt8.self), length, &params)
                }
            }
        }
        guard ok == 1 else { throw CryptoError.openssl("HKDF derive") }
        return out
    }

    public struct ScryptParameters: Codable, Equatable, Sendable {
        public var logN: Int
        public var r: Int
        public var p: Int
        /// About 64 MiB of memory (128 * r * N) and a few hundred milliseconds on this class of machine.
        public static let interactive = ScryptParameters(logN: 16, r: 8, p: 1)
        public init(logN: Int, r: Int, p: Int) { self.logN = logN; self.r = r; self.p = p }
        public var memoryBytes: UInt64 { 128 * UInt64(r) * (UInt64(1) << UInt64(logN)) }
        /// Rejects parameters read from disk that are unreasonably weak or that would exhaust memory.
        public var isSane: Bool { (10...22).contains(logN) && (1...32).contains(r) && (1...16).contains(p) }
    }

    /// scrypt (RFC 7914). `maxmem` is passed explicitly: OpenSSL's 32 MiB default rejects N = 2^16.
    public static func scrypt(password: [UInt8], salt: [UInt8], params: ScryptParameters, length: Int = 32) throws
        -> SecureBytes
    {
        let out = SecureBytes(count: length)
        let maxmem = params.memoryBytes * UInt64(params.p) + (16 << 20)
        let ok = out.withUnsafeMutableBytes { o in
            password.withUnsafeBufferPointer { pw in
                salt.withUnsafeBufferPointer { s in
                    pw.withMemoryRebound(to: CChar.self) { pwc in
                        EVP_PBE_scrypt(
                            pwc.baseAddress, pw.count, s.baseAddress, s.count,
                            UInt64(1) << UInt64(params.logN), UInt64(params.r), UInt64(params.p), maxmem,
                            o.baseAddress!.assumingMemoryBound(to: UInt8.self), length)
                    }
                }
            }
        }
        guard ok == 1 else { throw CryptoError.openssl("scrypt") }
        return out
    }
}
