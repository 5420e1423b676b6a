import Foundation
import Glibc
import ProtCrypto

/// How the master key is unsealed: a passphrase (scrypt) or a key file (HKDF over its bytes).
public enum Credential {
    case passphrase([UInt8])
    case keyFile(String)

    /// Reads a passphrase from a file (first line), from PROTFS_PASSPHRASE, or from the terminal without echo.
    /// Never from the command line, where other users could read it in the process list.
    public static func passphrase(
        file: String?, environment: String = "PROTFS_PASSPHRASE", prompt: String, confirm: Bool = false
    ) throws -> Credential {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw StoreError.io(file, "cannot read passphrase file")
            }
            let text = String(decoding: data, as: UTF8.self)
            let line =
                text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.isEmpty else { throw StoreError.emptyPassphrase }
            return .passphrase(Array(line.utf8))
        }
        if let env = getenv(environment) {
            let s = String(cString: env)
            guard !s.isEmpty else { throw StoreError.emptyPassphrase }
            return .passphrase(Array(s.utf8))
        }
        guard isatty(STDIN_FILENO) == 1 else { throw StoreError.noPassphrase }
        let first = try readHidden(prompt)
        guard !first.isEmpty else { throw StoreError.emptyPassphrase }
        if confirm {
            guard try readHidden("Repeat passphrase: ") == first else { throw StoreError.passphraseMismatch }
        }
        return .passphrase(first)
    }

    static func readHidden(_ prompt: String) throws -> [UInt8] {
        FileHandle.standardError.write(Data(prompt.utf8))
        var old = termios()
        tcgetattr(STDIN_FILENO, &old)
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer { tcsetattr(STDIN_FILENO, TCSAFLUSH, &old); FileHandle.standardError.write(Data("\n".utf8)) }
        var out: [UInt8] = []
        var c: UInt8 = 0
        while read(STDIN_FILENO, &c, 1) == 1 && c != 0x0A { out.append(c) }
        return out
    }

    /// The key that seals the master key, derived according to the config's KDF record.
    func sealingKey(kdf: StoreConfig.KDF) throws -> SecureBytes {
        guard let salt = Hex.decode(kdf.salt), salt.count == 32 else {
            throw StoreError.corruptConfig("config.json", "bad kdf salt")
        }
        switch (self, kdf.kind) {
        case (.passphrase(let pw), "scrypt"):
            let params = KDF.ScryptParameters(logN: kdf.logN ?? 0, r: kdf.r ?? 0, p: kdf.p ?? 0)
            guard params.isSane else { throw StoreError.corruptConfig("config.json", "scrypt parameters out of range") }
            return try KDF.scrypt(password: pw, salt: salt, params: params)
        case (.keyFile(let path), "keyfile"):
            let bytes = try Self.readKeyFile(path)
            return try bytes.withUnsafeBytes {
                try KDF.hkdf(ikm: $0, salt: salt, info: Array("protfs v1 key file".utf8), length: 32)
            }
        case (.passphrase, _): throw StoreError.io("unlock", "this store is sealed with a key file; use --key-file")
        case (.keyFile, _):
            throw StoreError.io(
                "unlock", "this store is sealed with a passphrase; use --passphrase-file or PROTFS_PASSPHRASE")
        }
    }

    static func readKeyFile(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.keyFileMissing(path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path, "cannot read key file")
        }
        guard data.count >= 32 else { throw StoreError.keyFileTooShort(path) }
        return Array(data)
    }

    /// Creates a key file of 64 random bytes, readable by its owner only.
    public static func createKeyFile(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o400)
        guard fd >= 0 else { throw StoreError.io(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = try Random.bytes(64)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == 64, fsync(fd) == 0 else {
            throw StoreError.io(path, "cannot write key file")
        }
    }

    var kindName: String { if case .passphrase = self { return "scrypt" } else { return "keyfile" } }
}
