/// Errors from the crypto layer. Messages never contain key material.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// An AEAD tag or MAC did not verify: the data was altered or the key is wrong.
    case authenticationFailed
    case invalidLength(String)
    case openssl(String)

    public var description: String {
        switch self {
        case .authenticationFailed: return "authentication failed"
        case .invalidLength(let what): return "invalid length: \(what)"
        case .openssl(let what): return "OpenSSL error: \(what)"
        }
    }
}
