import Glibc
import ProtSystem

public enum ContainerError: Error, Equatable, CustomStringConvertible {
    case notAContainer
    case unsupportedVersion(UInt16)
    case corruptHeader(String)
    /// A block failed authentication, or its length or position is impossible.
    case corruptBlock(UInt64)
    /// The ciphertext length cannot be produced by any valid container (cut mid-block or header only).
    case invalidLength(UInt64)
    /// The final block does not authenticate against any header: cut at a block boundary, or an older header put back.
    case tailMismatch(UInt64)
    case keyUnavailable(String)
    case headerFull
    case io(String, Errno)

    public var description: String {
        switch self {
        case .notAContainer: return "not a protfs container (bad magic)"
        case .unsupportedVersion(let v): return "container format version \(v) is newer than this protfs supports (1)"
        case .corruptHeader(let why): return "corrupt header: \(why)"
        case .corruptBlock(let i): return "block \(i) failed authentication"
        case .invalidLength(let n): return "impossible ciphertext length \(n) (truncated or extended)"
        case .tailMismatch(let i):
            return
                "final block \(i) does not match the header (truncated at a block boundary or an older header put back)"
        case .keyUnavailable(let why): return "key unavailable: \(why)"
        case .headerFull: return "header has no room for more grants"
        case .io(let op, let e): return "\(op): \(e)"
        }
    }

    /// Integrity failures are what the mount reports as EIO and logs as integrity-failure rows.
    public var isIntegrityFailure: Bool {
        switch self {
        case .corruptHeader, .corruptBlock, .invalidLength, .tailMismatch, .notAContainer: return true
        default: return false
        }
    }
}
