import ProtAccess
import ProtContainer
import ProtPolicy
import ProtSystem

extension Store {
    /// The store's policy and revocations, for the decider (ProtAccess).
    public var access: AccessRules { AccessRules(policy: policy, revocations: revocations) }

    /// Rights of `who` on a file (AccessRules.rights: label grants, the file's own grants, content expiry).
    public func rights(of who: Identity, header: HeaderFields, now: Int64 = currentTimeNanos()) -> Rights {
        access.rights(of: who, header: header, now: now)
    }
}
