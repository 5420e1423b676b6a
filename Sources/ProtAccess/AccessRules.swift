import ProtContainer
import ProtPolicy

/// The rights the policy and a file's own header give an identity. Pure: the clock is a parameter.
public struct AccessRules: Sendable {
    public let policy: Policy
    public let revocations: Revocations

    public init(policy: Policy, revocations: Revocations) {
        self.policy = policy; self.revocations = revocations
    }

    /// Rights of `who` on a file: the label's grants, the file's own unexpired, unrevoked grants, then the
    /// content expiry recorded in the header (after which only holders of `owner` keep access). Root is not
    /// special. A label the policy no longer has (retired) gives nobody anything, its owner included.
    public func rights(of who: Identity, header: HeaderFields, now: Int64) -> Rights {
        let extra: [LabelGrant] = header.grants.compactMap { g in
            if let exp = g.expiry, now >= exp { return nil }
            if revocations.contains(g) { return nil }
            guard let grantee = Grantee.parse(g.identity) else { return nil }
            return LabelGrant(grantee: grantee, rights: Rights(rawValue: g.rights))
        }
        let r = policy.rights(
            of: who, label: header.labelId, fileOwner: header.ownerUid, now: now,
            extraGrants: extra)
        if let exp = header.expiry, now >= exp { return r.afterExpiry }
        return r
    }

    /// The label a new entry at `path` gets from the folder rules, and what `who` holds on it judged without
    /// the creator's `owner` grant: a caller may not bring a file into a folder by becoming its owner.
    public func folder(of path: [UInt8], for who: Identity) -> (label: String, rights: Rights) {
        let label = policy.folderLabel(for: String(decoding: path, as: UTF8.self)).label
        return (label, policy.rights(of: who, label: label, fileOwner: nil))
    }
}
