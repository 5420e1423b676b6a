import Foundation
import Glibc
import ProtAccess
import ProtContainer
import ProtCrypto
import ProtLedger
import ProtPolicy
import ProtSystem
import Synchronization

/// An unlocked store: its policy, its master key, and the keys of every label derived from it.
public final class Store: Sendable {
    public let root: String
    /// Changed only by `changeCredential` (the CLI's `passwd`), read by every key derivation.
    private let configBox: Mutex<StoreConfig>
    public var config: StoreConfig { configBox.withLock { $0 } }
    public let policy: Policy
    let masterKey: SecureBytes  // module-internal: key derivations in this module only
    private let keks = Mutex<[String: SecureBytes]>([:])
    /// Per-file grants that no longer count, wherever the file is now.
    public let revocations = Revocations()

    public static let metaDirName = ".protfs"
    public var metaDir: String { root + "/" + Self.metaDirName }
    public static func configPath(_ root: String) -> String { root + "/\(metaDirName)/config.json" }
    public static func policyPath(_ root: String) -> String { root + "/\(metaDirName)/policy.yaml" }
    public static func ledgerPath(_ root: String) -> String { root + "/\(metaDirName)/ledger.db" }

    private init(root: String, config: StoreConfig, policy: Policy, masterKey: SecureBytes) {
        self.root = root; configBox = Mutex(config); self.policy = policy; self.masterKey = masterKey
    }

    // MARK: creating and unlocking

    /// Creates `.protfs/` in `root` (an existing or new directory) with a fresh master key sealed under `credential`.
    public static func initialize(
        at root: String, policyFile: String, credential: Credential,
        scrypt: KDF.ScryptParameters = .interactive
    ) throws -> Store {
        let meta = root + "/" + metaDirName
        if FileManager.default.fileExists(atPath: configPath(root)) { throw StoreError.alreadyInitialized(root) }
        let policyText = try readFile(policyFile)
        let policy: Policy
        do {
            policy = try PolicyLoader.parse(yaml: String(decoding: policyText, as: UTF8.self), file: policyFile).policy
        } catch let e as PolicyError { throw StoreError.io("policy", "\n" + e.description) }

        let master = try SecureBytes.random(count: 32)
        let salt = try Random.bytes(32)
        let kdf =
            credential.kindName == "scrypt"
            ? StoreConfig.KDF(kind: "scrypt", salt: Hex.encode(salt), logN: scrypt.logN, r: scrypt.r, p: scrypt.p)
            : StoreConfig.KDF(kind: "keyfile", salt: Hex.encode(salt), logN: nil, r: nil, p: nil)
        var config = StoreConfig(
            format: StoreConfig.formatName, version: StoreConfig.currentVersion,
            storeId: Hex.encode(try Random.bytes(16)), created: EventFormat.isoTime(currentTimeNanos()),
            kdf: kdf, sealedMasterKey: "", labelKeyVersions: [:],
            policySHA256: Hex.encode(Digest.sha256(policyText)), mac: "")
        for l in policy.labels { config.labelKeyVersions[l.id] = 1 }
        let sealing = try credential.sealingKey(kdf: kdf)
        config.sealedMasterKey = Hex.encode(
            try AESGCM.seal(key: sealing, plaintext: master.exportBytes(), aad: config.sealAAD))
        config.mac = try Self.mac(config, master)

        guard mkdirP(root, 0o700), mkdirP(meta, 0o700), chmod(meta, 0o700) == 0 else {
            throw StoreError.io(meta, String(cString: strerror(errno)))
        }
        try AtomicFile.write(policyText, to: policyPath(root))
        try writeConfig(config, root: root)
        // Only the daemon enters the store (see RootAttributes); what users see is the mount's root.
        if getuid() == 0 {
            _ = try RootAttributes.lockDown(root: root)
        } else {
            try RootAttributes(mode: 0o755, uid: getuid(), gid: getgid()).save(root: root)
            guard chmod(root, 0o700) == 0 else { throw StoreError.io(root, String(cString: strerror(errno))) }
        }
        return Store(root: root, config: config, policy: policy, masterKey: master)
    }

    /// Reads and checks the config without unlocking (for `info` and for clear errors before a passphrase prompt).
    public static func readConfig(at root: String) throws -> StoreConfig {
        let path = configPath(root)
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.notAStore(root) }
        let data = try readFile(path)
        if let probe = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
            let v = probe["version"] as? Int, v > StoreConfig.currentVersion
        {
            throw StoreError.newerFormat(root, v)
        }
        let config: StoreConfig
        do { config = try JSONDecoder().decode(StoreConfig.self, from: Data(data)) } catch {
            throw StoreError.corruptConfig(path, "not a valid config (\(Self.describe(error)))")
        }
        guard config.format == StoreConfig.formatName else {
            throw StoreError.corruptConfig(path, "unknown format '\(config.format)'")
        }
        guard config.version == StoreConfig.currentVersion else {
            if config.version > StoreConfig.currentVersion { throw StoreError.newerFormat(root, config.version) }
            throw StoreError.corruptConfig(path, "unsupported version \(config.version)")
        }
        return config
    }

    /// Unlocks the store: unseals the master key, checks the config MAC, then the sealed policy.
    public static func open(at root: String, credential: Credential) throws -> Store {
        let config = try readConfig(at: root)
        let sealing = try credential.sealingKey(kdf: config.kdf)
        guard let sealed = Hex.decode(config.sealedMasterKey) else {
            throw StoreError.corruptConfig(configPath(root), "bad sealed key")
        }
        let master: SecureBytes
        do { master = try AESGCM.openKey(key: sealing, sealed: sealed, aad: config.sealAAD) } catch {
            throw credential.kindName == "scrypt" ? StoreError.wrongPassphrase(root) : StoreError.wrongKeyFile(root)
        }
        guard ConstantTime.equal(Array(try Self.mac(config, master).utf8), Array(config.mac.utf8)) else {
            throw StoreError.corruptConfig(configPath(root), "config MAC does not verify (edited outside protfs)")
        }
        let policyText = try readFile(policyPath(root))
        // Parsed before the hash check, so a broken policy is named by file, line and column.
        let policy: Policy
        do {
            policy = try PolicyLoader.parse(yaml: String(decoding: policyText, as: UTF8.self), file: policyPath(root))
                .policy
        } catch let e as PolicyError { throw StoreError.malformedPolicy(e.description) }
        guard Hex.encode(Digest.sha256(policyText)) == config.policySHA256 else {
            throw StoreError.policyChanged(policyPath(root))
        }
        return Store(root: root, config: config, policy: policy, masterKey: master)
    }

    /// Re-seals the master key under a new credential (`protfs passwd`). Content and label keys are unchanged.
    public func changeCredential(to credential: Credential, scrypt: KDF.ScryptParameters = .interactive) throws {
        var c = config
        let salt = Hex.encode(try Random.bytes(32))
        c.kdf =
            credential.kindName == "scrypt"
            ? StoreConfig.KDF(kind: "scrypt", salt: salt, logN: scrypt.logN, r: scrypt.r, p: scrypt.p)
            : StoreConfig.KDF(kind: "keyfile", salt: salt, logN: nil, r: nil, p: nil)
        let sealing = try credential.sealingKey(kdf: c.kdf)
        c.sealedMasterKey = Hex.encode(
            try AESGCM.seal(key: sealing, plaintext: masterKey.exportBytes(), aad: c.sealAAD))
        c.mac = try Self.mac(c, masterKey)
        try Self.writeConfig(c, root: root)
        configBox.withLock { $0 = c }
    }

    // MARK: keys

    /// The key-encryption key of a label at a key version: HKDF(master, store id, label id, version).
    public func labelKey(_ label: String, version: UInt32) throws -> SecureBytes {
        guard version >= 1, version <= (config.labelKeyVersions[label] ?? 0) else {
            throw StoreError.unknownLabel("\(label) (key version \(version))")
        }
        let cacheKey = "\(label)#\(version)"
        if let k = keks.withLock({ $0[cacheKey] }) { return k }
        var info = Array("protfs v1 label kek".utf8) + [0] + Array(label.utf8) + [0]
        info += withUnsafeBytes(of: version.bigEndian) { Array($0) }
        // Derived outside the lock (two threads may both derive it: the same key, kept once).
        let k = try KDF.hkdf(key: masterKey, salt: Hex.decode(config.storeId) ?? [], info: info)
        return keks.withLock { keks in
            if let known = keks[cacheKey] { return known }
            keks[cacheKey] = k
            return k
        }
    }

    /// A key for one purpose of the store's own (share records, the key service's private key), derived from
    /// the master key, so it exists only while the store is unlocked.
    public func purposeKey(_ purpose: String) throws -> SecureBytes {
        try KDF.hkdf(key: masterKey, salt: Hex.decode(config.storeId) ?? [], info: Array("protfs v1 \(purpose)".utf8))
    }

    /// Makes the grants of a share (of one grantee, or all with nil) count for nothing from now on.
    public func revoke(shareId: [UInt8], grantee: String?) { revocations.revoke(shareId: shareId, grantee: grantee) }

    public func isRevoked(_ g: Grant) -> Bool { revocations.contains(g) }

    public var keyLookup: LabelKeyLookup {
        { [unowned self] label, version in try self.labelKey(label, version: version) }
    }

    public func currentKeyVersion(_ label: String) -> UInt32 { config.labelKeyVersions[label] ?? 1 }

    /// Checks that a label exists and may be applied to a file.
    public func requireApplicable(_ label: String) throws {
        guard policy.label(label) != nil else { throw StoreError.unknownLabel(label) }
        guard policy.isApplicable(label) else { throw StoreError.labelNotApplicable(label) }
    }

    public func openLedger(durability: Ledger.Durability = .normal) throws -> Ledger {
        try Ledger(path: Self.ledgerPath(root), durability: durability)
    }

    // MARK: helpers

    static func mac(_ c: StoreConfig, _ master: SecureBytes) throws -> String {
        let key = try KDF.hkdf(key: master, salt: Hex.decode(c.storeId) ?? [], info: Array("protfs v1 config mac".utf8))
        return Hex.encode(try Digest.hmacSHA256(key: key, data: c.macInput))
    }

    static func writeConfig(_ c: StoreConfig, root: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try enc.encode(c)) + [0x0A], to: configPath(root))
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path, FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file")
        }
        return Array(d)
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.keyNotFound(let k, _) = error { return "missing field '\(k.stringValue)'" }
        if case DecodingError.dataCorrupted = error { return "truncated or not JSON" }
        if case DecodingError.typeMismatch(_, let ctx) = error {
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        return "\(error)"
    }

    static func mkdirP(_ path: String, _ mode: mode_t) -> Bool {
        (try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true,
            attributes: [.posixPermissions: Int(mode)])) != nil
    }
}
