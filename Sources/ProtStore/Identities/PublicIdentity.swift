import Foundation
import ProtCrypto

/// Someone who can receive protected copies: a name, an optional e-mail address and an X25519 public key.
/// Its text form is one line that survives mail and copy-paste, with a checksum that catches damage:
/// `protfs-identity-v1 NAME EMAIL|- KEY-HEX CHECKSUM`.
public struct PublicIdentity: Equatable, Sendable {
    public var name: String
    public var email: String?
    public var publicKey: [UInt8]

    public static let tag = "protfs-identity-v1"

    public init(name: String, email: String?, publicKey: [UInt8]) throws {
        guard Self.isValidName(name) else { throw IdentityError.badName(name) }
        if let email, !Self.isValidEmail(email) { throw IdentityError.badEmail(email) }
        guard publicKey.count == X25519.keySize else { throw IdentityError.malformed("the key is not 32 bytes") }
        self.name = name; self.email = email; self.publicKey = publicKey
    }

    /// Letters, digits and `._-`, 1 to 64 characters: a name that is also a safe file name.
    public static func isValidName(_ n: String) -> Bool {
        !n.isEmpty && n.count <= 64 && !n.hasPrefix(".")
            && n.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0)
            }
    }

    static func isValidEmail(_ e: String) -> Bool {
        let parts = e.split(separator: "@", omittingEmptySubsequences: false)
        return e.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !e.contains(where: { $0.isWhitespace })
    }

    private var body: String { "\(Self.tag) \(name) \(email ?? "-") \(Hex.encode(publicKey))" }

    public var line: String { body + " " + Self.checksum(body) }

    /// The first 8 bytes of the key's SHA-256, for people to compare over another channel.
    public var fingerprint: String {
        let h = Array(Hex.encode(Digest.sha256(publicKey).prefix(8)))
        return stride(from: 0, to: h.count, by: 4).map { String(h[$0..<min($0 + 4, h.count)]) }.joined(separator: ":")
    }

    static func checksum(_ body: String) -> String { Hex.encode(Digest.sha256(Array(body.utf8)).prefix(4)) }

    public static func parse(_ text: String) throws -> PublicIdentity {
        let words = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        guard words.count == 5, words[0] == tag else {
            throw IdentityError.malformed("expected '\(tag) NAME EMAIL KEY CHECKSUM'")
        }
        let body = words[0..<4].joined(separator: " ")
        guard ConstantTime.equal(Array(checksum(body).utf8), Array(words[4].utf8)) else {
            throw IdentityError.malformed("checksum mismatch (the line was changed or cut)")
        }
        guard let key = Hex.decode(words[3]) else { throw IdentityError.malformed("the key is not hex") }
        return try PublicIdentity(name: words[1], email: words[2] == "-" ? nil : words[2], publicKey: key)
    }
}

public enum IdentityError: Error, CustomStringConvertible, Equatable {
    case badName(String), badEmail(String), malformed(String), exists(String), notFound(String), tampered(String)

    public var description: String {
        switch self {
        case .badName(let n): return "'\(n)' is not a valid identity name (letters, digits and ._-, at most 64)"
        case .badEmail(let e): return "'\(e)' is not an e-mail address"
        case .malformed(let why): return "not a protfs identity: \(why)"
        case .exists(let p): return "\(p) already exists (an identity is never overwritten)"
        case .notFound(let what): return "no identity \(what)"
        case .tampered(let p): return "\(p) does not match its MAC (changed outside protfs)"
        }
    }
}
