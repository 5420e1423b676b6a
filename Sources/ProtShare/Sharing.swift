import Foundation
import Glibc
import ProtContainer
import ProtCrypto
import ProtPolicy
import ProtStore

/// Turns a share request on an open container into the new header, the share record and the envelope of
/// its portable copy. Pure decisions and key wrapping; the caller writes them (header first).
public struct Sharing {
    public let store: Store
    public init(store: Store) { self.store = store }

    public struct Plan {
        public var fields: HeaderFields
        public var record: ShareRecord
        public var envelope: ShareEnvelope
    }

    /// What an offline grant's wrapped key is bound to: changing the grant's rights or expiry breaks it.
    public static func grantContext(shareId: String, rights: UInt16, expires: Int64?) -> [UInt8] {
        Array("protfs v1 share grant \(shareId) \(rights) \(expires ?? 0)".utf8)
    }

    public func plan(
        _ req: ShareRequest, container: Container, path: String, sharerUid: UInt32, sharer: String,
        now: Int64
    ) throws -> Plan {
        guard ShareBook.isValidId(req.shareId), let shareIdBytes = Hex.decode(req.shareId) else {
            throw ShareError.malformed("share id")
        }
        guard !req.recipients.isEmpty, req.recipients.count <= 32 else {
            throw ShareError.malformed("between 1 and 32 recipients")
        }
        guard Rights(rawValue: req.rights).isSubset(of: .all), req.rights != 0 else {
            throw ShareError.malformed("rights")
        }
        if let e = req.expires, e <= now { throw ShareError.malformed("the expiry is in the past") }
        guard req.offlineSeconds >= 0 else { throw ShareError.malformed("offline period") }
        guard try ShareBook(store: store).load(req.shareId) == nil else {
            throw ShareError.malformed("share id in use")
        }
        let service = try ServiceConfig.load(store)
        let tracked = req.tracked ?? (service != nil)
        if tracked && service == nil {
            throw ShareError.service(
                "this store runs no key service (start `protfs serve`), so a tracked share is impossible")
        }

        let known = store.recipients().compactMap { $0.problem == nil ? $0.identity : nil }
        var fields = container.fields
        // Grants of revoked or ended shares leave the header now: no later copy carries them, and they
        // take no room.
        fields.grants.removeAll { g in store.isRevoked(g) || (g.expiry.map { now >= $0 } ?? false) }
        let grantCtx = Self.grantContext(shareId: req.shareId, rights: req.rights, expires: req.expires)
        for r in req.recipients {
            if let key = r.publicKey {
                guard let id = known.first(where: { Hex.encode($0.publicKey) == key }), id.name == r.name else {
                    throw ShareError.notARecipient("'\(r.name)' is not a known recipient of this store")
                }
                let wrapped = tracked ? [] : try container.wrapFileKey(to: id.publicKey, context: grantCtx)
                fields.grants.append(
                    Grant(
                        identity: "x25519:" + key, rights: req.rights, expiry: req.expires,
                        shareId: shareIdBytes, recipientWrappedKey: wrapped))
            }
            if let user = r.localUser {
                guard getpwnam(user) != nil else { throw ShareError.notARecipient("no local account '\(user)'") }
                fields.grants.append(
                    Grant(identity: "user:" + user, rights: req.rights, expiry: req.expires, shareId: shareIdBytes))
            }
            if r.publicKey == nil && r.localUser == nil {
                throw ShareError.notARecipient("'\(r.name)' has neither a key nor an account")
            }
        }
        let fileId = Hex.encode(container.fileId)
        let sealed = try container.sealFileKey(
            under: try ShareBook(store: store).sealingKey(),
            aad: ShareRecord.keyAAD(shareId: req.shareId, fileId: fileId))
        let record = ShareRecord(
            id: req.shareId, fileId: fileId, path: path, label: fields.labelId, sharerUid: sharerUid,
            sharer: sharer, recipients: req.recipients, rights: req.rights, created: now,
            expires: req.expires, tracked: tracked, offlineSeconds: tracked ? req.offlineSeconds : 0,
            notify: req.notify, notifyTo: req.notifyTo, sealedKey: Hex.encode(sealed))
        let envelope = ShareEnvelope(
            shareId: req.shareId, fileName: (path as NSString).lastPathComponent, label: fields.labelId,
            sharer: sharer, created: now, expires: req.expires, rights: req.rights, tracked: tracked,
            offlineSeconds: record.offlineSeconds,
            service: tracked ? service.map { .init(url: $0.url, publicKey: $0.publicKey) } : nil)
        return Plan(fields: fields, record: record, envelope: envelope)
    }

    /// The header after revoking `recipient` (or everyone) of share `shareId` (or of every share).
    public static func removingGrants(_ fields: HeaderFields, shareId: [UInt8]?, recipient: ShareRecipient?)
        -> HeaderFields
    {
        var f = fields
        f.grants.removeAll { g in
            guard shareId == nil || g.shareId == shareId! else { return false }
            guard let r = recipient else { return true }
            return r.grantees.contains(g.identity)
        }
        return f
    }

    /// One line per share for the ledger: what was given to whom, without keys.
    public static func ledgerDetail(_ r: ShareRecord) -> String {
        let who = r.recipients.map { rec in
            rec.name + (rec.publicKey.map { "(" + String($0.prefix(16)) + ")" } ?? "")
                + (rec.localUser.map { "[user:\($0)]" } ?? "")
        }.joined(separator: ",")
        var parts = [
            "share=\(r.id)", "to=\(who)", "rights=\(Rights(rawValue: r.rights))",
            "expires=\(r.expires.map { isoTime($0) } ?? "never")", r.tracked ? "tracked" : "offline-only"
        ]
        if r.tracked { parts.append("offline=\(r.offlineSeconds)s") }
        if r.notify { parts.append("notify=\(r.notifyTo ?? r.sharer)") }
        return parts.joined(separator: " ")
    }
}

public func isoTime(_ ns: Int64) -> String {
    let f = ISO8601DateFormatter()
    return f.string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
}
