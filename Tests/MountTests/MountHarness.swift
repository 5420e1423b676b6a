import Foundation
import Testing

/// Real mounts, real users: the suite creates local users and groups, mounts a store with `protfs mount`
/// and acts through the mount as those users (setpriv), never through a mock.
enum MountEnv {
    static let binary: String = {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("protfs").path
    }()
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Why the mount tests cannot run here, or nil. Under CI=true that is a failure, not a skip.
    static let unavailable: String? = {
        if getuid() != 0 { return "mount tests need root (they create users and mount FUSE)" }
        if access("/dev/fuse", R_OK | W_OK) != 0 { return "/dev/fuse is missing or not usable" }
        if access("/usr/bin/setpriv", X_OK) != 0 { return "setpriv (util-linux) is missing" }
        return nil
    }()
    static var enabled: Bool {
        if let why = unavailable, ProcessInfo.processInfo.environment["CI"] == "true" {
            FileHandle.standardError.write(Data("CI=true but \(why)\n".utf8))
            return true  // run anyway so the failure is visible
        }
        return unavailable == nil
    }

    struct Result { var status: Int32; var out: String; var err: String }

    /// Runs a shell script (as `user` through setpriv when given) with posix_spawn and waitpid; output goes to
    /// temporary files, so a daemon that outlives the script can never hold a pipe open.
    @discardableResult
    static func sh(_ script: String, as user: String? = nil) -> Result {
        var argv =
            user == nil
            ? ["/bin/sh", "-c", script]
            : [
                "/usr/bin/setpriv", "--reuid=\(user!)", "--regid=\(getpwnam(user!).map { $0.pointee.pw_gid } ?? 65534)",
                "--init-groups", "--", "/bin/sh", "-c", script
            ]
        let outPath = "/tmp/protfs-sh-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        let errPath = outPath + ".err"
        defer { unlink(outPath); unlink(errPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let env = ProcessInfo.processInfo.environment.filter { $0.key != "PROTFS_PASSPHRASE" }
            .map { "\($0.key)=\($0.value)" }
        var cargv = argv.map { strdup($0) } + [nil]
        var cenv = env.map { strdup($0) } + [nil]
        defer { for p in cargv { free(p) }; for p in cenv { free(p) } }
        var pid: pid_t = 0
        argv.removeAll()
        guard posix_spawn(&pid, cargv[0]!, &actions, nil, &cargv, &cenv) == 0 else {
            return Result(status: -1, out: "", err: "spawn failed")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: code, out: out, err: err)
    }

    /// Starts a background shell script; returns its pid (stop it with kill + waitpid).
    static func spawn(_ script: String) -> pid_t {
        var pid: pid_t = 0
        let words: [String] = ["/bin/sh", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        posix_spawn(&pid, argv[0]!, nil, nil, &argv, environ)
        return pid
    }

    static func stop(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    static let users = ["pfalice": ["protfs-fin"], "pfbob": [], "pfcarol": ["protfs-hr"], "pfdave": ["protfs-aud"]]

    /// Creates the test groups and users once per machine (idempotent).
    static func ensureUsers() {
        for g in ["protfs-fin", "protfs-hr", "protfs-aud"] { sh("getent group \(g) >/dev/null || groupadd \(g)") }
        for (u, groups) in users {
            sh("id \(u) >/dev/null 2>&1 || useradd -M -N -g users -s /usr/sbin/nologin \(u)")
            if !groups.isEmpty { sh("usermod -a -G \(groups.joined(separator: ",")) \(u)") }
        }
    }
}

/// One store mounted for a test; unmounted (and removed) when the fixture goes away, also on failure.
final class MountedStore {
    let dir: String
    var store: String { dir + "/store" }
    var mnt: String { dir + "/mnt" }
    var pw: String { dir + "/pw" }

    init(policy: String = MountEnv.packageRoot + "/Tests/Fixtures/mount-policy.yaml") throws {
        MountEnv.ensureUsers()
        var t = Array("/tmp/protfs-mnt-XXXXXX".utf8CString)
        dir = t.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(dir, 0o755)
        try "test passphrase\n".write(toFile: pw, atomically: true, encoding: .utf8)
        mkdir(mnt, 0o755)
        let r = MountEnv.sh(
            "'\(MountEnv.binary)' init '\(store)' --policy '\(policy)' --passphrase-file '\(pw)' --scrypt-log-n 10")
        #expect(r.status == 0, "init: \(r.err)")
        try mount()
        // Shared folders anyone may write into, without the sticky bit: the label, not the mode, must refuse.
        MountEnv.sh(
            "cd '\(mnt)' && mkdir -p finance hr public general expiring && chmod 0777 finance hr public general expiring"
        )
    }

    func mount() throws {
        let r = MountEnv.sh("'\(MountEnv.binary)' mount '\(store)' '\(mnt)' --passphrase-file '\(pw)'")
        #expect(r.status == 0, "mount: \(r.err)")
        if r.status != 0 { throw MountFailure(message: r.err) }
    }

    struct MountFailure: Error { let message: String }

    func unmount() -> MountEnv.Result { MountEnv.sh("'\(MountEnv.binary)' unmount '\(mnt)'") }

    deinit {
        if unmount().status != 0 { MountEnv.sh("umount -l '\(mnt)'") }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func path(_ rel: String) -> String { mnt + "/" + rel }

    /// Ledger rows as JSON objects, oldest first.
    func ledger(_ args: String = "") -> [[String: Any]] {
        let r = MountEnv.sh("'\(MountEnv.binary)' audit '\(store)' --limit 0 --format json \(args)")
        return r.out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func label(_ rel: String) -> String? {
        let r = MountEnv.sh(
            "/usr/bin/python3 -c \"import os,sys; print(os.getxattr(sys.argv[1], 'user.protfs.label').decode())\" '\(path(rel))'"
        )
        return r.status == 0 ? r.out.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// Every regular file in the store, as raw bytes, for plaintext searches.
    func storeBytes() -> [UInt8] {
        var all: [UInt8] = []
        let e = FileManager.default.enumerator(atPath: store)
        while let rel = e?.nextObject() as? String {
            if rel.hasPrefix(".protfs") { continue }
            if let d = FileManager.default.contents(atPath: store + "/" + rel) { all += d }
        }
        return all
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard n.count <= count else { return false }
        for i in 0...(count - n.count) where self[i] == n[0] && self[i..<(i + n.count)].elementsEqual(n) { return true }
        return false
    }
}
