import COpenSSL

/// SHA-256 and HMAC-SHA256 through EVP one-shots.
public enum Digest {
    public static let sha256Size = 32
    /// Fetched once: `EVP_sha256()` makes every digest look the implementation up again (OpenSSL 3), which
    /// costs as much as hashing a ledger row.
    nonisolated(unsafe) static let sha256MD: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("SHA-256 unavailable") }
        return md
    }()

    public static func sha256(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: sha256Size)
        var len: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o in
            EVP_Digest(data.baseAddress, data.count, o.baseAddress, &len, sha256MD, nil)
        }
        precondition(ok == 1 && len == 32, "SHA-256 unavailable")
        return out
    }

    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { sha256($0) }
    }

    public static func hmacSHA256(key: SecureBytes, data: UnsafeRawBufferPointer) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: sha256Size)
        var outLen = 0
        let r = key.withUnsafeBytes { k in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Q_mac(
                    nil, "HMAC", nil, "SHA256", nil, k.baseAddress, k.count,
                    data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count,
                    o.baseAddress, sha256Size, &outLen)
            }
        }
        guard r != nil, outLen == sha256Size else { throw CryptoError.openssl("HMAC-SHA256") }
        return out
    }

    public static func hmacSHA256(key: SecureBytes, data: [UInt8]) throws -> [UInt8] {
        try data.withUnsafeBytes { try hmacSHA256(key: key, data: $0) }
    }
}
