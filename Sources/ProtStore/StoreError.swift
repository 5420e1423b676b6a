/// One-line, user-facing errors for store operations. Never include key material.
public enum StoreError: Error, CustomStringConvertible {
    case notAStore(String)
    case alreadyInitialized(String)
    case newerFormat(String, Int)
    case corruptConfig(String, String)
    case wrongPassphrase(String)
    case wrongKeyFile(String)
    case keyFileMissing(String)
    case keyFileTooShort(String)
    case noPassphrase
    case passphraseMismatch
    case emptyPassphrase
    case unknownLabel(String)
    case labelNotApplicable(String)
    case policyChanged(String)
    /// The store's policy file no longer parses: the loader's FILE:LINE:COL diagnostic.
    case malformedPolicy(String)
    case io(String, String)

    public var description: String {
        switch self {
        case .notAStore(let p): return "\(p) is not a protfs store (no .protfs/config.json)"
        case .alreadyInitialized(let p): return "\(p) already holds a protfs store"
        case .newerFormat(let p, let v):
            return "\(p) uses store format version \(v); this protfs reads version \(StoreConfig.currentVersion)"
        case .corruptConfig(let p, let why): return "\(p) is corrupt: \(why)"
        case .wrongPassphrase(let p): return "wrong passphrase for store \(p)"
        case .wrongKeyFile(let p): return "wrong key file for store \(p)"
        case .keyFileMissing(let p): return "key file \(p) not found"
        case .keyFileTooShort(let p): return "key file \(p) is shorter than 32 bytes"
        case .noPassphrase: return "no passphrase: use --passphrase-file, PROTFS_PASSPHRASE or run on a terminal"
        case .passphraseMismatch: return "passphrases do not match"
        case .emptyPassphrase: return "empty passphrase"
        case .unknownLabel(let l): return "unknown label '\(l)'"
        case .labelNotApplicable(let l): return "label '\(l)' has sub-labels and cannot be applied; pick one of them"
        case .malformedPolicy(let d):
            return "\(d)\n(the store's policy was edited outside protfs: restore it; the mount does not start with it)"
        case .policyChanged(let p):
            return "policy \(p) does not match the policy sealed into the store config (edited outside protfs?)"
        case .io(let what, let why): return "\(what): \(why)"
        }
    }
}
