import Foundation
import Testing

/// `audit prune` keeps the policy's minimum retention, asks before deleting, and can export what it deletes.
@Suite struct LedgerRetentionTests {
    /// A few rows: refused protects are logged as errors.
    func addRows(_ store: String, _ pw: String, _ s: Scratch) throws {
        let plain = s.file("plain.txt", "hello\n")
        for _ in 0..<3 {
            try CLI.run([
                "protect", plain, "--store", store, "--label", "nope", "-o", s.path + "/o", "--passphrase-file", pw
            ])
        }
    }

    func rows(_ store: String) throws -> [String] {
        try CLI.run(["audit", store, "--limit", "0", "--format", "json"]).out.split(separator: "\n").map(String.init)
    }

    @Test func rowsYoungerThanTheRetentionAreNeverDeleted() throws {
        let s = Scratch()
        let (store, pw) = try makeStore(s)
        try addRows(store, pw, s)
        let before = try rows(store)
        // `--before 1s` on the default policy (90 days) deleted the whole history of a share before.
        let r = try CLI.run(["audit", "prune", store, "--before", "1s", "--yes"])
        #expect(r.status == 1, "\(r.err)")
        #expect(r.err.contains("keeps ledger rows for 90 days"), "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        #expect(try rows(store) == before)
    }

    @Test func pruneAsksExportsThenDeletes() throws {
        let s = Scratch()
        let policy = try String(contentsOfFile: CLI.packageRoot + "/Policies/default.yaml", encoding: .utf8)
        let short = s.file("policy.yaml", policy + "\nledger_retention: 1s\n")
        let pw = s.file("pw", "correct horse battery staple\n")
        let store = s.path + "/store"
        var r = try CLI.run(["init", store, "--policy", short, "--passphrase-file", pw, "--scrypt-log-n", "12"])
        #expect(r.status == 0, "\(r.err)")
        try addRows(store, pw, s)
        let before = try rows(store)
        #expect(before.count >= 3)
        sleep(2)
        // No terminal to ask and no --yes: nothing is deleted.
        r = try CLI.run(["audit", "prune", store, "--before", "1s"])
        #expect(r.status == 1 && r.err.contains("add --yes"), "\(r.err)")
        #expect(try rows(store) == before)
        // An export file that exists already is refused before anything is deleted.
        let taken = s.file("taken.jsonl", "keep me\n")
        r = try CLI.run(["audit", "prune", store, "--before", "1s", "--yes", "--export", taken])
        #expect(r.status == 1 && r.err.contains("must not exist"), "\(r.err)")
        #expect(try rows(store) == before)
        #expect(try String(contentsOfFile: taken, encoding: .utf8) == "keep me\n")

        let export = s.path + "/pruned.jsonl"
        r = try CLI.run(["audit", "prune", store, "--before", "1s", "--yes", "--export", export])
        #expect(r.status == 0, "\(r.err)")
        let exported = try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(exported == before, "the export holds exactly the rows deleted, in order")
        // Each exported row names the hash of the one before it: the run can be checked link by link.
        let links = try exported.map { line -> (prev: String?, hash: String) in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["prev_hash"] as? String, o["hash"] as! String)
        }
        for i in 1..<links.count { #expect(links[i].prev == links[i - 1].hash) }
        let after = try rows(store)
        #expect(after.count == 1 && after[0].contains("\"event\":\"prune\""), "\(after)")
        #expect(try CLI.run(["audit", "verify", store]).status == 0)
    }
}
