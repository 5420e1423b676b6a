/// Why a share could not be made, opened, answered or revoked. Messages name the file or share concerned.
public enum ShareError: Error, CustomStringConvertible, Equatable {
    case notAPortableCopy(String)
    case malformed(String)
    case notARecipient(String)
    case expired(String)
    case revoked(String)
    case tampered(String)
    case service(String)
    case unknownShare(String)
    case io(String)

    public var description: String {
        switch self {
        case .notAPortableCopy(let p): return "\(p) is not a protfs portable copy (.pfs)"
        case .malformed(let why): return "malformed: \(why)"
        case .notARecipient(let why): return "not a recipient: \(why)"
        case .expired(let why): return "share expired: \(why)"
        case .revoked(let why): return "share revoked: \(why)"
        case .tampered(let why): return "refused, the portable copy was altered: \(why)"
        case .service(let why): return "key service: \(why)"
        case .unknownShare(let id): return "no share \(id)"
        case .io(let why): return why
        }
    }
}
