import Foundation
import Testing

/// `protfs identity`: key pairs kept out of the store, one-line public identities, MACed recipients.
@Suite struct IdentityCommandTests {
    @Test func createExportAddListAndTamper() throws {
        let s = Scratch()
        let (store, pw) = try makeStore(s)
        let alice = ["PROTFS_CONFIG_DIR": s.path + "/alice-config"], bob = ["PROTFS_CONFIG_DIR": s.path + "/bob-config"]
        var r = try CLI.run(["identity", "create", "alice", "--email", "alice@example.com"], env: alice)
        #expect(r.status == 0 && r.out.contains("fingerprint"), "\(r.err)")
        #expect(try CLI.run(["identity", "create", "bob"], env: bob).status == 0)
        // The private key: 0600, in the user's config directory, never overwritten.
        var st = stat()
        #expect(stat(s.path + "/alice-config/identities/alice.key", &st) == 0 && st.st_mode & 0o777 == 0o600)
        r = try CLI.run(["identity", "create", "alice"], env: alice)
        #expect(r.status == 1 && r.err.contains("already exists"), "\(r.err)")
        #expect(try CLI.run(["identity", "create", "../evil"], env: alice).status == 2)

        let aliceLine = try CLI.run(["identity", "export"], env: alice).out
        let bobLine = try CLI.run(["identity", "export", "bob"], env: bob).out
        #expect(
            aliceLine.hasPrefix("protfs-identity-v1 alice alice@example.com ")
                && aliceLine.split(separator: "\n").count == 1)
        #expect(!aliceLine.contains("private"))
        let aliceFile = s.file("alice.id", aliceLine), bobFile = s.file("bob.id", bobLine)
        // A damaged line is refused by its checksum.
        let damaged = s.file("damaged.id", aliceLine.replacingOccurrences(of: " alice@", with: " alicia@"))
        r = try CLI.run(["identity", "add", store, damaged, "--passphrase-file", pw])
        #expect(r.status == 1 && r.err.contains("checksum"), "\(r.err)")

        #expect(try CLI.run(["identity", "add", store, aliceFile, "--passphrase-file", pw]).status == 0)
        #expect(try CLI.run(["identity", "add", store, bobFile, "--passphrase-file", pw]).status == 0)
        #expect(
            try CLI.run(["identity", "add", store, aliceFile, "--passphrase-file", pw]).status == 0,
            "the same identity again is fine")
        r = try CLI.run(["identity", "ls", store, "--passphrase-file", pw, "--format", "csv"])
        #expect(r.status == 0 && r.out.contains("alice,alice@example.com,") && r.out.contains("bob,-,"), "\(r.out)")
        // Another key under a known name: refused.
        _ = try CLI.run(["identity", "create", "alice"], env: bob)
        let otherAlice = s.file("other.id", try CLI.run(["identity", "export", "alice"], env: bob).out)
        r = try CLI.run(["identity", "add", store, otherAlice, "--passphrase-file", pw])
        #expect(r.status == 1 && r.err.contains("different key"), "\(r.err)")
        // Someone with write access to the store swaps bob's entry for a valid line with their own key: the MAC says so.
        let mallory = ["PROTFS_CONFIG_DIR": s.path + "/mallory-config"]
        _ = try CLI.run(["identity", "create", "bob"], env: mallory)
        let forged = try CLI.run(["identity", "export", "bob"], env: mallory).out.trimmingCharacters(in: .newlines)
        let entry = store + "/.protfs/recipients/bob.id"
        let mac = try String(contentsOfFile: entry, encoding: .utf8).split(separator: "\n")[1]
        try (forged + "\n" + mac + "\n").write(toFile: entry, atomically: true, encoding: .utf8)
        r = try CLI.run(["identity", "ls", store, "--passphrase-file", pw])
        #expect(r.status == 1 && r.out.contains("bob") && r.out.contains("MAC does not verify"), "\(r.out)")
        #expect(try CLI.run(["audit", "verify", store]).status == 0)
        #expect(
            try CLI.run(["audit", store, "--event", "key-change", "--format", "csv"]).out.contains(
                "recipient alice added"))
    }
}
