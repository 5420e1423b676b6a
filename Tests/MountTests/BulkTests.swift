import Foundation
import Testing

/// `protfs scan`, `import` and `status` on a generated tree with known contents, through a real mount.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct BulkTests {
    static let card = "4111 1111 1111 1111"
    static let policy = MountEnv.packageRoot + "/Tests/Fixtures/bulk-policy.yaml"

    /// path -> (content, owner, expected label). 15 files; 3 raised by card numbers.
    static let tree: [(path: String, content: String, owner: String, label: String)] = {
        var t: [(String, String, String, String)] = []
        for i in 0..<5 { t.append(("finance/report-\(i).txt", "quarterly figures \(i)\n", "pfalice", "conf/fin")) }
        for i in 0..<3 {
            t.append(("general/cards-\(i).txt", "pay \(card) or \(card) BULKMARKER\n", "pfcarol", "conf/fin"))
        }
        for i in 0..<4 {
            t.append(
                ("general/plain-\(i).txt", String(repeating: "nothing to see \(i)\n", count: 500), "pfbob", "general"))
        }
        t.append(("general/mail.txt", "a@example.com b@example.org c@example.net\n", "pfbob", "general"))
        t.append(("hr/staff.txt", "staff list\n", "pfcarol", "conf/hr"))
        t.append(("public/readme.txt", "hello\n", "pfbob", "public"))
        return t
    }()

    /// Builds the tree under `dir/src`: files with owners, modes, times, an xattr, a symlink, a dangling one.
    static func makeTree(_ dir: String) throws -> String {
        let src = dir + "/src"
        for (path, content, owner, _) in tree {
            let full = src + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: false, encoding: .utf8)
            MountEnv.sh(
                "chown \(owner):users '\(full)' && chmod 0640 '\(full)' && touch -d '2021-03-04 05:06:07.123456789' '\(full)'"
            )
        }
        MountEnv.sh(
            "cd '\(src)' && setfattr -n user.origin -v legacy general/plain-0.txt && ln -s plain-0.txt general/link && ln -s /nonexistent general/gone && touch -d 2020-01-01 hr"
        )
        return src
    }

    @Test func scanReportsExactLabelsAndCounts() throws {
        let m = try MountedStore(policy: Self.policy)
        let src = try Self.makeTree(m.dir)
        MountEnv.sh("echo secret > '\(src)/general/locked.txt' && chmod 000 '\(src)/general/locked.txt'")
        // As an ordinary user, so the mode-000 file is really unreadable.
        let r = MountEnv.sh("'\(MountEnv.binary)' scan '\(src)' --policy '\(Self.policy)' --format json", as: "pfbob")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("general/locked.txt") && r.err.contains("gone: dangling symlink"), "\(r.err)")
        let rows = r.out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let labels = Dictionary(uniqueKeysWithValues: rows.map { ($0["path"] as! String, $0["label"] as! String) })
        #expect(labels == Dictionary(uniqueKeysWithValues: Self.tree.map { ("/" + $0.path, $0.label) }))
        let cards = rows.first { $0["path"] as? String == "/general/cards-1.txt" }
        #expect((cards?["counts"] as? [String: Int])?["credit_card"] == 2 && cards?["raised"] as? Bool == true)

        let s = MountEnv.sh(
            "'\(MountEnv.binary)' scan '\(src)' --policy '\(Self.policy)' --summary --format json", as: "pfbob")
        let sum = try #require(try JSONSerialization.jsonObject(with: Data(s.out.utf8)) as? [String: Any])
        #expect(
            sum["files"] as? Int == 15 && sum["unreadable"] as? Int == 1 && sum["raised_by_detectors"] as? Int == 3,
            "\(sum)")
        let perLabel = (sum["labels"] as? [String: [String: Int]])?.mapValues { $0["files"] ?? 0 }
        #expect(perLabel == ["conf/fin": 8, "general": 5, "conf/hr": 1, "public": 1])
        let det = sum["detectors"] as? [String: [String: Int]]
        #expect(
            det?["credit_card"] == ["files": 3, "matches": 6] && det?["email"] == ["files": 1, "matches": 3],
            "\(String(describing: det))")
        // Same answer with the store's policy, and a usage error without any policy.
        #expect(
            MountEnv.sh("'\(MountEnv.binary)' scan '\(src)' --store '\(m.mnt)' --summary --format json").out.contains(
                "\"raised_by_detectors\":3"))
        #expect(MountEnv.sh("'\(MountEnv.binary)' scan '\(src)'").status == 2)
    }

    @Test func importKeepsContentMetadataAndGivesTheScannedLabels() throws {
        let m = try MountedStore(policy: Self.policy)
        let src = try Self.makeTree(m.dir)
        let r = MountEnv.sh("'\(MountEnv.binary)' import '\(src)' '\(m.mnt)' --format json")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("gone: dangling symlink"))
        let sum = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(
            sum["files"] as? Int == 15 && sum["raised_by_detectors"] as? Int == 3 && sum["symlinks"] as? Int == 2,
            "\(sum)")
        for (path, content, owner, label) in Self.tree {
            #expect(m.label(path) == label, "\(path)")
            #expect(MountEnv.sh("cmp '\(src)/\(path)' '\(m.path(path))'").status == 0, "\(path) differs")
            let st = MountEnv.sh("stat -c '%U %a %y' '\(m.path(path))'").out
            #expect(st == "\(owner) 640 2021-03-04 05:06:07.123456789 +0000\n", "\(path): \(st)")
            _ = content
        }
        #expect(MountEnv.sh("getfattr --only-values -n user.origin '\(m.path("general/plain-0.txt"))'").out == "legacy")
        #expect(MountEnv.sh("readlink '\(m.path("general/link"))'").out == "plain-0.txt\n")
        #expect(MountEnv.sh("readlink '\(m.path("general/gone"))'").out == "/nonexistent\n")
        #expect(MountEnv.sh("stat -c %Y '\(m.path("hr"))'").out == MountEnv.sh("stat -c %Y '\(src)/hr'").out)
        // The chown handed `owner` to each file's owner: pfcarol reads her card file, raised to conf/fin,
        // although conf/fin grants her group nothing; pfbob does not.
        #expect(MountEnv.sh("cat '\(m.path("general/cards-0.txt"))'", as: "pfcarol").status == 0)
        #expect(MountEnv.sh("cat '\(m.path("general/cards-0.txt"))'", as: "pfbob").status != 0)
        #expect(!m.storeBytes().contains("BULKMARKER"))

        let st = MountEnv.sh("'\(MountEnv.binary)' status '\(m.mnt)' --format json")
        let status = try #require(try JSONSerialization.jsonObject(with: Data(st.out.utf8)) as? [String: Any])
        let perLabel = (status["labels"] as? [String: [String: Any]])?.mapValues { $0["files"] as? Int ?? 0 }
        #expect(perLabel == ["conf/fin": 8, "general": 5, "conf/hr": 1, "public": 1], "\(st.out)")
        #expect(MountEnv.sh("'\(MountEnv.binary)' audit verify '\(m.store)'").status == 0)
        #expect(MountEnv.sh("'\(MountEnv.binary)' status '\(m.store)'").out.contains("intact"))
    }

    @Test func interruptedImportResumesWithoutDuplicatesOrShortFiles() throws {
        let m = try MountedStore(policy: Self.policy)
        let src = m.dir + "/big"
        MountEnv.sh(
            "mkdir -p '\(src)/general' && cd '\(src)/general' && for i in $(seq 1 300); do head -c 65536 /dev/urandom > f$i.bin; done"
        )
        let dest = m.path("general/in")
        let pid = MountEnv.spawn("exec '\(MountEnv.binary)' import '\(src)' '\(dest)' >/dev/null 2>&1")
        var seen = 0
        for _ in 0..<300 where seen < 40 {
            usleep(20_000)
            seen =
                Int(
                    MountEnv.sh("ls '\(dest)/general' 2>/dev/null | grep -c '^f'").out.trimmingCharacters(
                        in: .whitespacesAndNewlines)) ?? 0
        }
        MountEnv.stop(pid)
        #expect(seen >= 40 && seen < 300, "killed after \(seen) files")
        // Every file under its real name is complete; partial work hides under .protfs-import.*.
        let partial = MountEnv.sh(
            "cd '\(dest)/general' && for f in f*; do cmp -s \"$f\" '\(src)/general/'\"$f\" || echo \"$f\"; done")
        #expect(partial.out.isEmpty, "incomplete files under real names: \(partial.out)")
        let r = MountEnv.sh("'\(MountEnv.binary)' import '\(src)' '\(dest)' --format json")
        #expect(r.status == 0, "\(r.err)")
        let sum = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(
            (sum["already_imported"] as? Int ?? 0) >= 40
                && (sum["files"] as? Int ?? 0) + (sum["already_imported"] as? Int ?? 0) == 300, "\(sum)")
        #expect(MountEnv.sh("diff -r '\(src)/general' '\(dest)/general'").status == 0)
        #expect(
            MountEnv.sh("ls -A '\(dest)/general' | wc -l").out.trimmingCharacters(in: .whitespacesAndNewlines) == "300")
    }
}
