import Foundation
import Testing

@Suite struct StoreCommandTests {
    @Test func protectFsckUnprotectRoundTripHoldsOnlyCiphertext() throws {
        let s = Scratch()
        let (store, pw) = try makeStore(s)
        let secret = String(repeating: "PAYROLL Alice 4111 1111 1111 1111 salary 123456\n", count: 300)
        let plain = s.file("plain.txt", secret)
        let container = store + "/finance-q3.txt"
        var r = try CLI.run([
            "protect", plain, "--store", store, "--label", "confidential/finance", "-o", container, "--passphrase-file",
            pw
        ])
        #expect(r.status == 0, "\(r.err)")
        #expect(!bytes(container).contains(Array("PAYROLL".utf8)))
        #expect(!bytes(container).contains(Array("4111".utf8)))
        r = try CLI.run(["fsck", store, "--passphrase-file", pw])
        #expect(r.status == 0 && r.out.contains("1 containers checked, 0 damaged"), "\(r.out)\(r.err)")
        let back = s.path + "/back.txt"
        r = try CLI.run(["unprotect", container, "--store", store, "-o", back, "--passphrase-file", pw])
        #expect(r.status == 0, "\(r.err)")
        #expect(bytes(back) == Array(secret.utf8))
        r = try CLI.run(["audit", store, "--format", "json"])
        let events = r.out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.map { $0["event"] as? String }
        #expect(events == ["policy-change", "protect", "unprotect"])
        #expect(try CLI.run(["audit", "verify", store]).status == 0)
    }

    @Test func fsckNamesDamagedFilesAndBlocks() throws {
        let s = Scratch()
        let (store, pw) = try makeStore(s)
        let plain = s.file("p.txt", String(repeating: "x", count: 20_000))
        for name in ["good", "bad"] {
            #expect(
                try CLI.run([
                    "protect", plain, "--store", store, "--label", "general", "-o", store + "/" + name,
                    "--passphrase-file", pw
                ]).status == 0)
        }
        var b = bytes(store + "/bad")
        b[8192 + 4124 * 2 + 100] ^= 0xFF  // inside block 2
        FileManager.default.createFile(atPath: store + "/bad", contents: Data(b))
        FileManager.default.createFile(atPath: store + "/dropped.txt", contents: Data("not a container".utf8))
        let r = try CLI.run(["fsck", store, "--passphrase-file", pw, "--format", "csv"])
        #expect(r.status == 1)
        #expect(r.out.contains("bad,general,,2"), "\(r.out)")
        #expect(r.out.contains("dropped.txt"))
        #expect(!r.out.contains("good"))
        let fails = try CLI.run(["audit", store, "--event", "integrity-failure", "--format", "csv"])
        #expect(fails.out.split(whereSeparator: \.isNewline).count == 3, "\(fails.out)")
    }

    @Test func badInputGivesOneLineErrorsAndWritesNothing() throws {
        let s = Scratch()
        let (store, pw) = try makeStore(s)
        let plain = s.file("p.txt", "hello")
        let dst = s.path + "/out"
        let rowsBefore = try CLI.run(["audit", store, "--format", "csv"]).out
        func expectRefused(_ args: [String], _ message: String, env: [String: String] = [:]) throws {
            let r = try CLI.run(args, env: env)
            #expect(r.status != 0, "\(args)")
            let lines = r.err.split(separator: "\n")
            #expect(lines.count == 1, "\(args): \(r.err)")
            #expect(r.err.contains(message), "\(args): \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: dst))
        }
        let wrong = s.file("wrong", "not the passphrase\n")
        try expectRefused(
            ["protect", plain, "--store", store, "--label", "general", "-o", dst, "--passphrase-file", wrong],
            "wrong passphrase")
        try expectRefused(
            ["protect", plain, "--store", store, "--label", "general", "-o", dst], "wrong passphrase",
            env: ["PROTFS_PASSPHRASE": "nope"])
        try expectRefused(["protect", plain, "--store", store, "--label", "general", "-o", dst], "no passphrase")
        try expectRefused(
            [
                "protect", plain, "--store", store, "--label", "general", "-o", dst, "--key-file",
                s.path + "/missing.key"
            ], "sealed with a passphrase")
        try expectRefused(
            ["protect", plain, "--store", s.path, "--label", "general", "-o", dst, "--passphrase-file", pw],
            "is not a protfs store")
        try expectRefused(
            ["protect", plain, "--store", store, "--label", "confidential", "-o", dst, "--passphrase-file", pw],
            "has sub-labels")
        try expectRefused(
            ["protect", plain, "--store", store, "--label", "nope", "-o", dst, "--passphrase-file", pw],
            "unknown label 'nope'")
        // The two label refusals are logged as errors.
        #expect(
            try CLI.run(["audit", store, "--format", "csv"]).out.split(whereSeparator: \.isNewline).count
                == rowsBefore.split(whereSeparator: \.isNewline).count + 2)

        let config = store + "/.protfs/config.json"
        let original = bytes(config)
        var json = try JSONSerialization.jsonObject(with: Data(original)) as! [String: Any]
        json["version"] = 2
        FileManager.default.createFile(atPath: config, contents: try JSONSerialization.data(withJSONObject: json))
        try expectRefused(["fsck", store, "--passphrase-file", pw], "format version 2")
        FileManager.default.createFile(atPath: config, contents: Data(original.prefix(original.count / 2)))
        try expectRefused(["fsck", store, "--passphrase-file", pw], "is corrupt")
        var tampered = try JSONSerialization.jsonObject(with: Data(original)) as! [String: Any]
        tampered["label_key_versions"] = ["general": 2]
        FileManager.default.createFile(atPath: config, contents: try JSONSerialization.data(withJSONObject: tampered))
        try expectRefused(["fsck", store, "--passphrase-file", pw], "config MAC does not verify")
        FileManager.default.createFile(atPath: config, contents: Data(original))
        let policy = store + "/.protfs/policy.yaml"
        let p = bytes(policy)
        FileManager.default.createFile(atPath: policy, contents: Data(p + Array("\n# everyone gets everything\n".utf8)))
        try expectRefused(["fsck", store, "--passphrase-file", pw], "does not match the policy sealed")
        FileManager.default.createFile(atPath: policy, contents: Data(p))
        #expect(try CLI.run(["fsck", store, "--passphrase-file", pw]).status == 0)
        #expect(bytes(config) == original)
    }

    @Test func keyFileStoresAndPasswd() throws {
        let s = Scratch()
        let key = s.path + "/store.key"
        let store = s.path + "/kstore"
        var r = try CLI.run(["init", store, "--key-file", key])
        #expect(r.status == 0, "\(r.err)")
        #expect(bytes(key).count == 64)
        let plain = s.file("p.txt", "hello")
        #expect(
            try CLI.run(["protect", plain, "--store", store, "--label", "public", "-o", store + "/p", "--key-file", key]
            ).status == 0)
        r = try CLI.run(["fsck", store, "--key-file", s.path + "/missing.key"])
        #expect(r.status == 1 && r.err.contains("key file \(s.path)/missing.key not found"), "\(r.err)")
        let short = s.file("short.key", "too short")
        r = try CLI.run(["fsck", store, "--key-file", short])
        #expect(r.status == 1 && r.err.contains("shorter than 32 bytes"))
        let newPw = s.file("new", "a new passphrase\n")
        r = try CLI.run(["passwd", store, "--key-file", key, "--new-passphrase-file", newPw])
        #expect(r.status == 0, "\(r.err)")
        #expect(try CLI.run(["fsck", store, "--key-file", key]).status == 1)
        r = try CLI.run([
            "unprotect", store + "/p", "--store", store, "-o", s.path + "/back", "--passphrase-file", newPw
        ])
        #expect(r.status == 0, "\(r.err)")
        #expect(bytes(s.path + "/back") == Array("hello".utf8))
        #expect(try CLI.run(["info", store]).out.contains("passphrase (scrypt"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try CLI.run(["protect"]).status == 2)
        #expect(try CLI.run(["audit", "/tmp", "--since", "yesterday-ish"]).status == 2)
        #expect(try CLI.run(["no-such-command"]).status == 2)
        let help = try CLI.run(["--help"])
        #expect(help.status == 0 && help.out.contains("audit") && help.out.contains("policy"))
    }
}
