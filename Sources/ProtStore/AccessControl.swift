import ProtContainer
import ProtPolicy

extension Store {
    /// Rights of `who` on a file: the label's grants, the file's own unexpired, unrevoked grants, then the content expiry
    /// recorded in the header (after which only holders of `owner` keep access). Root is not special.
    public func rights(of who: Identity, header: HeaderFields, now: Int64 = currentTimeNanos()) -> Rights {
        let extra: [LabelGrant] = header.grants.compactMap { g in
            if let exp = g.expiry, now >= exp { return nil }
            if isRevoked(g) { return nil }
            guard let grantee = Grantee.parse(g.identity) else { return nil }
            return LabelGrant(grantee: grantee, rights: Rights(rawValue: g.rights))
        }
        let r = policy.rights(of: who, label: header.labelId, fileOwner: header.ownerUid, extraGrants: extra)
        if let exp = header.expiry, now >= exp { return r.afterExpiry }
        return r
    }
}
