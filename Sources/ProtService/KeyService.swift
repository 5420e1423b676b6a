import Foundation
import Glibc
import ProtCrypto
import ProtLedger
import ProtPolicy
import ProtShare
import ProtStore
import ProtSystem
import Synchronization

/// The key service's decisions, without HTTP: authenticate a key request, check the share (grant, expiry,
/// revocation), log it, trigger the owner's notification, and answer with the content key wrapped to the
/// recipient. Never sees content: it holds share records, not files.
public final class KeyService: Sendable {
    let store: Store
    let ledger: Ledger
    let config: ServiceConfig
    let privateKey: SecureBytes
    let notifier: Notifier?
    let replay = ReplayGuard(windowSeconds: KeyRequest.window)
    let records: RecordCache
    let limiter: RateLimiter
    private let macKeyCache = Mutex<[String: SecureBytes]>([:])

    public struct Reply: Sendable {
        public let status: Int
        public let body: Data
    }

    public init(store: Store, ledger: Ledger, config: ServiceConfig, notifier: Notifier?, ratePerSecond: Double) throws
    {
        self.store = store; self.ledger = ledger; self.config = config; self.notifier = notifier
        records = try RecordCache(book: ShareBook(store: store))
        privateKey = try config.privateKey(store)
        limiter = RateLimiter(perSecond: ratePerSecond, burst: max(1, ratePerSecond * 2))
        // Fresh keys cost nothing to make, so per-key buckets alone do not bound the work: one bucket for all.
        let total = ratePerSecond > 0 ? max(50, ratePerSecond * 20) : 0
        everyone = RateLimiter(perSecond: total, burst: max(1, total * 2))
    }

    /// All requests together, before any signature is checked.
    let everyone: RateLimiter

    /// A key named in the share, or one of the store's recipients. Only those reach the ledger and the notifier:
    /// anyone can make a fresh key that signs correctly for itself.
    func isKnown(_ key: String, in record: ShareRecord?) -> Bool {
        let key = key.lowercased()
        if record?.recipients.contains(where: { $0.publicKey?.lowercased() == key }) == true { return true }
        return store.recipients().contains { $0.problem == nil && $0.identity.map { Hex.encode($0.publicKey) } == key }
    }

    public func answer(body: [UInt8], address: String, now: Int64 = currentTimeNanos()) -> Reply {
        guard body.count <= KeyRequest.maxBodyBytes else {
            return refuse(413, "too-large: at most \(KeyRequest.maxBodyBytes) bytes")
        }
        guard let req = try? JSONDecoder().decode(KeyRequest.self, from: Data(body)), req.isWellFormed else {
            return refuse(400, "malformed: expected {share_id, recipient, time, nonce, mac} in hex")
        }
        guard everyone.allow("*", now: Double(now) / 1e9) else { return refuse(429, "rate-limited: too many requests") }
        guard limiter.allow(req.recipient, now: Double(now) / 1e9) else {
            return refuse(429, "rate-limited: too many requests for this identity")
        }
        let seconds = now / 1_000_000_000
        guard abs(seconds - req.time) <= KeyRequest.window else {
            return refuse(401, "stale: the request time is more than \(KeyRequest.window) s off")
        }
        guard verify(req) else { return refuse(401, "bad-signature: the request is not signed by the recipient's key") }

        // Authenticated by a known key from here on: every outcome is a ledger row.
        let loaded = Result { try records.load(req.shareId) }
        guard isKnown(req.recipient, in: (try? loaded.get()) ?? nil) else {
            return refuse(403, "unknown-key: this key is not a recipient known to the store")
        }
        let record: ShareRecord?
        do { record = try loaded.get() } catch {
            return deny(req, nil, address, 403, "unknown-share: \(error)")
        }
        guard let record else { return deny(req, nil, address, 404, "unknown-share: no share \(req.shareId)") }
        guard replay.admit(req.nonce, now: seconds) else {
            return deny(req, record, address, 409, "replay: this request was already answered")
        }
        guard let recipient = record.recipients.first(where: { $0.publicKey == req.recipient }) else {
            return deny(req, record, address, 403, "not-a-recipient: this share was not made for this key")
        }
        if record.isRevoked(for: recipient.name) {
            return deny(req, record, address, 403, "revoked: the share was revoked")
        }
        if record.isExpired(now: now) {
            return deny(req, record, address, 403, "expired: the share ended \(isoTime(record.expires!))")
        }
        guard record.tracked else {
            return deny(req, record, address, 403, "not-tracked: this share opens offline only")
        }

        let offlineUntil = record.offlineSeconds > 0 ? now + record.offlineSeconds * 1_000_000_000 : 0
        let cappedOffline = record.expires.map { min(offlineUntil, $0) } ?? offlineUntil
        let answer: KeyAnswer
        do {
            let key = try records.contentKey(record)
            let ctx = KeyAnswer.context(
                shareId: record.id, nonce: req.nonce, offlineUntil: cappedOffline,
                expires: record.expires ?? 0, rights: record.rights)
            let wrapped = try X25519.wrap(key, to: Hex.decode(req.recipient)!, context: ctx)
            answer = KeyAnswer(
                wrappedKey: Hex.encode(wrapped), offlineUntil: cappedOffline, expires: record.expires ?? 0,
                rights: record.rights)
        } catch {
            return deny(
                req, record, address, 500, "error: the share's key could not be recovered (\(error))", outcome: .error)
        }
        // The key leaves only once its row is committed.
        guard
            log(
                req, record, address, .allowed,
                "allowed" + (offlineUntil > 0 ? ", offline until \(isoTime(cappedOffline))" : ""))
        else {
            return refuse(503, "unavailable: the ledger cannot record this open")
        }
        notifier?.opened(record, recipient: recipient, address: address, allowed: true, reason: nil, at: now)
        return Reply(status: 200, body: (try? JSONEncoder().encode(answer)) ?? Data())
    }

    func verify(_ req: KeyRequest) -> Bool {
        guard let recipient = Hex.decode(req.recipient), let mac = Hex.decode(req.mac) else { return false }
        let key: SecureBytes? =
            macKeyCache.withLock { $0[req.recipient] }
            ?? {
                guard let secret = try? X25519.sharedSecret(privateKey: privateKey, peerPublicKey: recipient),
                    let k = try? KeyRequest.macKey(secret: secret, service: config.publicKeyBytes, recipient: recipient)
                else { return nil }
                macKeyCache.withLock { cache in
                    if cache.count > 10_000 { cache.removeAll() }
                    cache[req.recipient] = k
                }
                return k
            }()
        guard let key, let expected = try? Digest.hmacSHA256(key: key, data: req.signedBytes) else { return false }
        return ConstantTime.equal(expected, mac)
    }

    private func refuse(_ status: Int, _ reason: String) -> Reply {
        Reply(status: status, body: (try? JSONEncoder().encode(ServiceRefusal(error: reason))) ?? Data())
    }

    private func deny(
        _ req: KeyRequest, _ record: ShareRecord?, _ address: String, _ status: Int, _ reason: String,
        outcome: Outcome = .denied
    ) -> Reply {
        _ = log(req, record, address, outcome, reason)
        if let record {
            // Someone the share was not made for is worth telling the owner about too.
            let who =
                record.recipients.first(where: { $0.publicKey == req.recipient })
                ?? ShareRecipient(name: "unknown key \(req.recipient.prefix(16))", publicKey: req.recipient)
            notifier?.opened(
                record, recipient: who, address: address, allowed: false, reason: reason, at: currentTimeNanos())
        }
        return refuse(status, reason)
    }

    /// Not discardable: the key leaves only when its row is committed.
    private func log(_ req: KeyRequest, _ record: ShareRecord?, _ address: String, _ outcome: Outcome, _ reason: String)
        -> Bool
    {
        let name = record?.recipients.first(where: { $0.publicKey == req.recipient })?.name
        let detail =
            "share=\(req.shareId) recipient=\(name ?? "?")(\(req.recipient.prefix(16))) from=\(address): \(reason)"
        let e = LedgerEvent(
            kind: .shareOpen, outcome: outcome, user: name, pid: Int64(getpid()), process: "key-service",
            path: record.map { Array($0.path.utf8) }, label: record?.label, detail: detail)
        do { try ledger.append(e); return true } catch { return false }
    }
}
