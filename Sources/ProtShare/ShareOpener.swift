import Foundation
import Glibc
import ProtContainer
import ProtCrypto
import ProtPolicy
import ProtStore
import ProtSystem

/// `protfs open` for a recipient: finds the recipient's grant in a portable copy, gets the content key from
/// the grant itself (offline share), from an unexpired offline answer kept earlier, or from the key service
/// (tracked share), then authenticates the header, the envelope and, as they are read, the blocks.
public struct ShareOpener {
    public let identity: PrivateIdentity
    public let client: KeyClient
    /// Where answers that may be kept for offline use are stored; nil to keep none.
    public let offlineDir: String?

    public init(
        identity: PrivateIdentity, client: KeyClient = KeyClient(),
        offlineDir: String? = ShareOpener.defaultOfflineDir()
    ) {
        self.identity = identity; self.client = client; self.offlineDir = offlineDir
    }

    public static func defaultOfflineDir() -> String {
        (PrivateIdentity.directory() as NSString).deletingLastPathComponent + "/offline"
    }

    public struct Opened {
        public let container: Container
        public let envelope: ShareEnvelope
        public let rights: Rights
        /// offline grant, offline copy, key service
        public let keySource: String
    }

    public func open(fd: Int32, name: String, now: Int64 = currentTimeNanos()) throws -> Opened {
        let parsed = try PortableCopy.parse(fd: fd, name: name)
        let env = parsed.envelope
        let me = "x25519:" + Hex.encode(identity.identity.publicKey)
        guard let shareIdBytes = Hex.decode(env.shareId) else { throw ShareError.tampered("share id") }
        var errors: [ShareError] = []
        var fetched: (key: SecureBytes, source: String)?
        var usedGrant: Grant?
        let source = Container.KeySource.fileKey { fields in
            do {
                guard let g = fields.grants.first(where: { $0.identity == me && $0.shareId == shareIdBytes }) else {
                    throw ShareError.notARecipient(
                        "\(name) was not shared with \(identity.identity.name) (\(identity.identity.fingerprint))")
                }
                if let exp = g.expiry, now >= exp { throw ShareError.expired("the grant ended \(isoTime(exp))") }
                usedGrant = g
                if !g.recipientWrappedKey.isEmpty {
                    let ctx = Sharing.grantContext(shareId: env.shareId, rights: g.rights, expires: g.expiry)
                    guard
                        let k = try? X25519.unwrap(g.recipientWrappedKey, privateKey: identity.privateKey, context: ctx)
                    else {
                        throw ShareError.tampered(
                            "the grant's key does not unwrap with \(identity.identity.name)'s private key")
                    }
                    fetched = (k, "offline grant")
                    return k
                }
                if let f = fetched { return f.key }
                let k = try trackedKey(env, now: now)
                fetched = k
                return k.key
            } catch let e as ShareError { errors.append(e); throw e }
        }
        let container: Container
        do { container = try Container.open(fd: fd, length: parsed.containerLength, keys: source) } catch {
            // Not a recipient of a tracked share: its service hears of the attempt too (it refuses, logs, tells the
            // owner).
            if env.tracked && fetched == nil
                && errors.allSatisfy({
                    if case .notARecipient = $0 { return true }; return false
                })
            {
                _ = try? trackedKey(env, now: now)
            }
            if let specific = errors.first(where: {
                if case .notARecipient = $0 { return false }; return true
            }) ?? errors.first {
                throw specific
            }
            throw ShareError.tampered("\(error)")
        }
        try parsed.authenticate(with: container)
        let rights = Rights(rawValue: usedGrant?.rights ?? 0)
        guard rights.contains(.view) else { throw ShareError.notARecipient("the grant does not include view") }
        return Opened(container: container, envelope: env, rights: rights, keySource: fetched?.source ?? "?")
    }

    /// A kept answer while its offline period lasts, else a fresh one from the key service.
    func trackedKey(_ env: ShareEnvelope, now: Int64) throws -> (key: SecureBytes, source: String) {
        guard let service = env.service, let servicePub = Hex.decode(service.publicKey), servicePub.count == 32 else {
            throw ShareError.tampered("a tracked share without a key service")
        }
        if let kept = try? keptAnswer(env.shareId, now: now) { return (kept, "offline copy") }
        let request = try KeyRequest.signed(
            shareId: env.shareId, privateKey: identity.privateKey, servicePublicKey: servicePub)
        let answer = try client.requestKey(url: service.url, request: request)
        let key = try unwrap(answer, shareId: env.shareId, nonce: request.nonce)
        if answer.offlineUntil > now { keep(answer, shareId: env.shareId, nonce: request.nonce) }
        return (key, "key service")
    }

    func unwrap(_ a: KeyAnswer, shareId: String, nonce: String) throws -> SecureBytes {
        guard let k = a.unwrap(privateKey: identity.privateKey, shareId: shareId, nonce: nonce) else {
            throw ShareError.service("the answer does not unwrap with \(identity.identity.name)'s private key")
        }
        return k
    }

    struct Kept: Codable { var answer: KeyAnswer; var nonce: String }

    func keptPath(_ shareId: String) -> String? {
        offlineDir.map { $0 + "/\(shareId)-\(Hex.encode(Digest.sha256(identity.identity.publicKey).prefix(8))).json" }
    }

    func keep(_ a: KeyAnswer, shareId: String, nonce: String) {
        guard let dir = offlineDir, let path = keptPath(shareId),
            let data = try? JSONEncoder().encode(Kept(answer: a, nonce: nonce))
        else { return }
        try? FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try? AtomicFile.write(Array(data), to: path, mode: 0o600)
    }

    /// The deadline is part of what the key is bound to, so an edited file fails to unwrap.
    func keptAnswer(_ shareId: String, now: Int64) throws -> SecureBytes? {
        guard let path = keptPath(shareId), let data = FileManager.default.contents(atPath: path) else { return nil }
        let kept = try JSONDecoder().decode(Kept.self, from: data)
        guard kept.answer.offlineUntil > now else { unlink(path); return nil }
        if kept.answer.expires != 0 && now >= kept.answer.expires { unlink(path); return nil }
        return try unwrap(kept.answer, shareId: shareId, nonce: kept.nonce)
    }
}
