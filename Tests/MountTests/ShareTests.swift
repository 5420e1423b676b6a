import Foundation
import Testing

/// Share Protected end to end: a real mount, real local users, two real X25519 identities (rita, the
/// recipient, and eve, who is not), and a real key service on loopback started with `protfs serve`.
final class ShareScene {
    let m: MountedStore
    let content = "Q3 numbers: EBITDA 4.2M, do not forward\n"
    var out: String { m.dir + "/out" }
    var notes: String { m.dir + "/notes" }
    var serviceURL: String?
    private var servicePid: pid_t?

    init() throws {
        m = try MountedStore()
        let b = MountEnv.binary
        MountEnv.sh("mkdir -p '\(out)' '\(notes)' && chmod 0777 '\(out)'")
        for (who, mail) in [("rita", "rita@example.org"), ("eve", "eve@example.org")] {
            let r = MountEnv.sh(
                """
                PROTFS_CONFIG_DIR='\(m.dir)/\(who)' '\(b)' identity create \(who) --email \(mail) >/dev/null &&
                PROTFS_CONFIG_DIR='\(m.dir)/\(who)' '\(b)' identity export \(who) > '\(m.dir)/\(who).id' &&
                '\(b)' identity add '\(m.store)' '\(m.dir)/\(who).id' --passphrase-file '\(m.pw)'
                """)
            #expect(r.status == 0, "identity \(who): \(r.err)")
        }
        let w = MountEnv.sh("printf '%s' '\(content)' > '\(m.path("finance/q3.txt"))'", as: "pfalice")
        #expect(w.status == 0, "write: \(w.err)")
        try """
        #!/bin/sh
        # Written whole, then renamed: the test never reads a message half written (it did, under load).
        name=$(date +%s%N).$$
        cat > '\(notes)'/.$name && mv '\(notes)'/.$name '\(notes)'/$name.eml
        """.write(toFile: m.dir + "/notify.sh", atomically: true, encoding: .utf8)
        chmod(m.dir + "/notify.sh", 0o755)
    }

    deinit { stopService() }

    /// Starts `protfs serve` on a free loopback port and waits until it answers.
    func startService(_ extra: String = "") {
        let ready = m.dir + "/ready"
        unlink(ready)
        servicePid = MountEnv.spawn(
            """
            exec '\(MountEnv.binary)' serve '\(m.store)' --listen 127.0.0.1:0 --passphrase-file '\(m.pw)' --ready-file '\(ready)' \
            --notify-command '\(m.dir)/notify.sh' \(extra) 2>>'\(m.dir)/serve.log'
            """)
        for _ in 0..<200 {
            if let u = try? String(contentsOfFile: ready, encoding: .utf8) {
                serviceURL = u.trimmingCharacters(in: .whitespacesAndNewlines); break
            }
            usleep(50_000)
        }
        #expect(
            serviceURL != nil,
            "key service did not start: \((try? String(contentsOfFile: m.dir + "/serve.log", encoding: .utf8)) ?? "")")
    }

    func stopService() {
        if let p = servicePid { kill(p, SIGTERM); var s: Int32 = 0; waitpid(p, &s, 0); servicePid = nil }
    }

    @discardableResult
    func share(_ args: String, file: String = "finance/q3.txt", as user: String = "pfalice") -> MountEnv.Result {
        MountEnv.sh("cd '\(out)' && '\(MountEnv.binary)' share '\(m.path(file))' \(args)", as: user)
    }

    func open(_ pfs: String, as who: String = "rita", _ extra: String = "--stdout") -> MountEnv.Result {
        MountEnv.sh("cd '\(out)' && PROTFS_CONFIG_DIR='\(m.dir)/\(who)' '\(MountEnv.binary)' open '\(pfs)' \(extra)")
    }

    func key(_ who: String) -> String { m.dir + "/\(who)/identities/\(who).key" }

    /// POSTs a body to the key service; returns the HTTP status and body.
    func post(_ body: String) -> (Int, String) {
        try? body.write(toFile: m.dir + "/body.json", atomically: true, encoding: .utf8)
        let r = MountEnv.sh(
            "curl -s -o '\(m.dir)/answer' -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @'\(m.dir)/body.json' '\(serviceURL ?? "")/v1/key'"
        )
        return (Int(r.out) ?? -1, (try? String(contentsOfFile: m.dir + "/answer", encoding: .utf8)) ?? "")
    }

    func signed(_ pfs: String, as who: String = "rita", timeOffset: Int = 0) -> String {
        MountEnv.sh(
            "'\(MountEnv.binary)' debug sign-key-request '\(out)/\(pfs)' --identity '\(key(who))' --time-offset=\(timeOffset)"
        ).out
    }

    func rows(_ event: String) -> [[String: Any]] { m.ledger("--event \(event)") }

    func notifications() -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: notes)) ?? [])
            .filter { $0.hasSuffix(".eml") }.sorted()
        return names.compactMap { try? String(contentsOfFile: notes + "/" + $0, encoding: .utf8) }
    }

    /// Waits (bounded) for the notifier, which runs after the answer.
    func waitForNotifications(_ n: Int) -> [String] {
        for _ in 0..<100 where notifications().count < n { usleep(50_000) }
        return notifications()
    }
}

@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct ShareTests {
    @Test func viewOnlyShareOpensForTheRecipientAndNoOneElse() throws {
        let s = try ShareScene()
        // Offline share (no key service yet): the copy holds ciphertext only.
        let r = s.share("--to rita --access viewer --expires 7d -o offline.pfs")
        #expect(r.status == 0, "\(r.err)")
        let copy = Array(FileManager.default.contents(atPath: s.out + "/offline.pfs") ?? Data())
        #expect(copy.count > 8192 && !copy.contains("EBITDA"))
        #expect(s.open("offline.pfs").out == s.content)
        let eve = s.open("offline.pfs", as: "eve")
        #expect(eve.status == 1 && eve.out.isEmpty && eve.err.contains("not a recipient"), "\(eve.err)")
        // Someone without the share right cannot share; the refusal is a ledger row.
        let bob = s.share("--to rita --expires 7d -o bob.pfs", as: "pfbob")
        #expect(bob.status == 1 && bob.err.contains("share right"), "\(bob.err)")
        #expect(
            s.m.ledger("--denied").contains {
                ($0["user"] as? String) == "pfbob" && ($0["detail"] as? String)?.hasPrefix("share needs share") == true
            })

        // Tracked share: the key comes from the key service, which logs who asked.
        s.startService()
        #expect(s.share("--to rita@example.org --access viewer --expires 7d -o tracked.pfs").status == 0)
        let t = s.open("tracked.pfs", as: "rita", "--stdout --no-offline-copy")
        #expect(t.out == s.content && t.err.contains("key from key service"), "\(t.err)")
        let te = s.open("tracked.pfs", as: "eve")
        #expect(te.status == 1 && te.out.isEmpty)
        let opens = s.rows("share-open")
        #expect(opens.contains { $0["user"] as? String == "rita" && $0["outcome"] as? String == "allowed" })
        #expect(
            opens.contains {
                $0["outcome"] as? String == "denied" && ($0["detail"] as? String)?.contains("not-a-recipient") == true
            })
        let shares = s.rows("share").filter { $0["outcome"] as? String == "allowed" }
        #expect(
            shares.count == 2
                && shares.allSatisfy {
                    $0["user"] as? String == "pfalice" && $0["path"] as? String == "/finance/q3.txt"
                })
        // A viewer's grant gives view only: the copy says so and the service answers with those rights.
        #expect(t.err.contains("rights view,"))
    }

    @Test func localRecipientGetsAccessInTheMountUntilRevoked() throws {
        let s = try ShareScene()
        let cat = "cat '\(s.m.path("finance/q3.txt"))'"
        #expect(MountEnv.sh(cat, as: "pfbob").status != 0)
        #expect(s.share("--to pfbob --access viewer --expires 7d --no-tracking -o bob.pfs").status == 0)
        let bob = MountEnv.sh(cat, as: "pfbob")
        #expect(bob.status == 0 && bob.out == s.content, "\(bob.err)")
        // Viewer only: writing is still refused.
        #expect(MountEnv.sh("echo x >> '\(s.m.path("finance/q3.txt"))'", as: "pfbob").status != 0)
        let rv = MountEnv.sh("'\(MountEnv.binary)' revoke '\(s.m.path("finance/q3.txt"))'", as: "pfalice")
        #expect(rv.status == 0, "\(rv.err)")
        #expect(MountEnv.sh(cat, as: "pfbob").status != 0)
        #expect(s.rows("revoke").contains { $0["user"] as? String == "pfalice" })
        // Revocation survives a remount.
        #expect(s.m.unmount().status == 0)
        try s.m.mount()
        #expect(MountEnv.sh(cat, as: "pfbob").status != 0)
    }

    @Test func expiredShareIsRefusedOfflineAndOnline() throws {
        let s = try ShareScene()
        s.startService()
        #expect(s.share("--to rita --expires 2s --no-tracking -o off.pfs").status == 0)
        #expect(s.share("--to rita --expires 2s -o on.pfs").status == 0)
        let body = s.signed("on.pfs")
        #expect(s.open("off.pfs").out == s.content)
        sleep(3)
        let off = s.open("off.pfs")
        #expect(off.status == 1 && off.out.isEmpty && off.err.contains("expired"), "\(off.err)")
        let on = s.open("on.pfs", as: "rita", "--stdout --no-offline-copy")
        #expect(on.status == 1 && on.out.isEmpty && on.err.contains("expired"), "\(on.err)")
        // The service refuses on its own too, whatever the client checks.
        let (status, answer) = s.post(s.signed("on.pfs"))
        #expect(status == 403 && answer.contains("expired"), "\(status) \(answer)")
        _ = body
        #expect(s.rows("share-open").contains { ($0["detail"] as? String)?.contains("expired") == true })
    }

    /// A recipient holding the file open when the share is revoked (by path, then by share id) stops reading
    /// through that descriptor, from the kernel's cache too: the attack review read on after both.
    @Test func handlesHeldAcrossARevokeStopReading() throws {
        for byId in [false, true] {
            let s = try ShareScene()
            let share = s.share("--to pfbob --access viewer --expires 7d --no-tracking -o bob.pfs")
            #expect(share.status == 0, "\(share.err)")
            let file = s.m.path("finance/q3.txt")
            let bob = HeldReader(s.m, file: file)
            #expect(bob.opened() == s.content)
            let id =
                s.rows("share")
                .compactMap { ($0["detail"] as? String)?.split(separator: " ").first { $0.hasPrefix("share=") } }
                .first.map { String($0.dropFirst(6)) } ?? ""
            let revoke =
                byId
                ? "'\(MountEnv.binary)' revoke \(id) --store '\(s.m.mnt)'"
                : "'\(MountEnv.binary)' revoke '\(file)'"
            let rv = MountEnv.sh(revoke, as: "pfalice")
            #expect(rv.status == 0, "\(rv.err)")
            bob.proceed()
            let result = bob.result()
            #expect(result == "error:Permission denied|fallocate:skipped", "\(byId ? "by id" : "by path"): \(result)")
        }
    }

    @Test func revokedShareIsRefusedOnlineAndAfterItsOfflinePeriod() throws {
        let s = try ShareScene()
        s.startService()
        let r = s.share("--to rita --expires 7d --offline 4s -o r.pfs")
        #expect(r.status == 0, "\(r.err)")
        let first = s.open("r.pfs")
        #expect(first.out == s.content && first.err.contains("key service"), "\(first.err)")
        let kept = Date()
        let id = try #require(
            r.err.split(separator: " ").first { $0.count == 33 && $0.hasSuffix(",") }.map { String($0.dropLast()) })
        // Revoked by share id through the mount's root, as the sharer.
        let rv = MountEnv.sh("'\(MountEnv.binary)' revoke \(id) --store '\(s.m.mnt)'", as: "pfalice")
        #expect(rv.status == 0, "\(rv.err)")
        let online = s.open("r.pfs", as: "rita", "--stdout --no-offline-copy")
        #expect(online.status == 1 && online.err.contains("revoked"), "\(online.err)")
        // What revocation cannot do: an answer kept for offline use lasts until its offline period ends.
        let cached = s.open("r.pfs")
        #expect(cached.out == s.content && cached.err.contains("offline copy"), "\(cached.err)")
        let wait = 4.5 - Date().timeIntervalSince(kept)
        if wait > 0 { usleep(UInt32(wait * 1e6)) }
        let after = s.open("r.pfs")
        #expect(after.status == 1 && after.out.isEmpty && after.err.contains("revoked"), "\(after.err)")
        let denied = s.rows("share-open").filter { $0["outcome"] as? String == "denied" }
        #expect(denied.count >= 2 && denied.allSatisfy { ($0["detail"] as? String)?.contains("revoked") == true })
        #expect(s.rows("revoke").contains { ($0["detail"] as? String)?.contains(id) == true })
    }

    @Test func tamperedCopyIsRefusedWithoutOutput() throws {
        let s = try ShareScene()
        #expect(s.share("--to rita --expires 7d --no-tracking -o good.pfs").status == 0)
        let good = Array(FileManager.default.contents(atPath: s.out + "/good.pfs")!)
        let cases: [(String, (inout [UInt8]) -> Void)] = [
            (
                "header",
                {
                    $0[200] ^= 0x01; $0[4096 + 200] ^= 0x01
                }
            ),
            ("active-header", { $0[4096 + 100] ^= 0x01 }),
            ("block", { $0[8192 + 40] ^= 0x01 }),
            ("envelope", { $0[$0.count - 60] ^= 0x01 }),
            ("cut", { $0.removeSubrange((8192 + 20)..<(8192 + 30)) })
        ]
        for (name, damage) in cases {
            var bad = good
            damage(&bad)
            _ = FileManager.default.createFile(atPath: s.out + "/\(name).pfs", contents: Data(bad))
            let r = s.open("\(name).pfs", as: "rita", "-o \(name).txt")
            #expect(r.status == 1, "\(name): \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: s.out + "/\(name).txt"), "\(name) left output")
        }
        #expect(s.open("good.pfs", as: "rita", "-o good.txt").status == 0)
        #expect(FileManager.default.contents(atPath: s.out + "/good.txt") == Data(s.content.utf8))
    }

    @Test func everyOpenOfANotifyShareNotifiesTheOwner() throws {
        let s = try ShareScene()
        // A webhook sink on loopback beside the notification command.
        let port = Int.random(in: 30000...60000)
        try """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                with open(sys.argv[2], 'ab') as f: f.write(body + b'\\n')
                self.send_response(204); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """.write(toFile: s.m.dir + "/sink.py", atomically: true, encoding: .utf8)
        let sink = MountEnv.spawn("exec python3 '\(s.m.dir)/sink.py' \(port) '\(s.m.dir)/hooks'")
        defer { MountEnv.stop(sink) }
        usleep(300_000)
        s.startService("--notify-webhook http://127.0.0.1:\(port)/hook")
        #expect(s.share("--to rita --expires 7d --notify --notify-to owner@example.org -o n.pfs").status == 0)
        #expect(s.open("n.pfs", as: "rita", "--stdout --no-offline-copy").status == 0)
        #expect(s.open("n.pfs", as: "rita", "--stdout --no-offline-copy").status == 0)
        #expect(s.open("n.pfs", as: "eve").status == 1)
        let mails = s.waitForNotifications(3)
        #expect(mails.count == 3)
        #expect(mails.filter { $0.contains("Subject: protfs: rita <rita@example.org> opened q3.txt") }.count == 2)
        #expect(mails.filter { $0.contains("was refused") && $0.contains("X-Protfs-Event: denied") }.count == 1)
        #expect(mails.allSatisfy { $0.contains("To: owner@example.org") })
        // Each message is RFC 5322 as Python's parser reads it.
        try mails[0].write(toFile: s.m.dir + "/m.eml", atomically: true, encoding: .utf8)
        let parsed = MountEnv.sh(
            "python3 -c \"import email,sys; m=email.message_from_file(open(sys.argv[1])); print(m['To'], m['X-Protfs-Share'] is not None, m.get_content_type())\" '\(s.m.dir)/m.eml'"
        )
        #expect(parsed.out.hasPrefix("owner@example.org True text/plain"), "\(parsed.out) \(parsed.err)")
        for _ in 0..<100
        where ((try? String(contentsOfFile: s.m.dir + "/hooks", encoding: .utf8)) ?? "").split(separator: "\n").count
            < 3
        { usleep(50_000) }
        let hooks = ((try? String(contentsOfFile: s.m.dir + "/hooks", encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(hooks.count == 3 && hooks.filter { $0.contains("\"allowed\":true") }.count == 2, "\(hooks)")
    }

    @Test func mailOutputIsMIMEWithTheCopyAttached() throws {
        let s = try ShareScene()
        let r = s.share("--to rita --expires 7d --no-tracking --mail --from alice@example.org -o share.eml")
        #expect(r.status == 0, "\(r.err)")
        let py = """
            import email, sys
            m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
            assert m.is_multipart(), 'not multipart'
            parts = [p for p in m.walk() if p.get_filename()]
            assert len(parts) == 1, 'attachments: %d' % len(parts)
            open(sys.argv[2], 'wb').write(parts[0].get_payload(decode=True))
            print(m['From'], '|', m['To'], '|', parts[0].get_filename(), '|', m['MIME-Version'])
            """
        try py.write(toFile: s.m.dir + "/mime.py", atomically: true, encoding: .utf8)
        let p = MountEnv.sh("python3 '\(s.m.dir)/mime.py' '\(s.out)/share.eml' '\(s.out)/attached.pfs'")
        #expect(
            p.status == 0 && p.out.hasPrefix("alice@example.org | rita@example.org | q3.txt.pfs | 1.0"),
            "\(p.out) \(p.err)")
        #expect(s.open("attached.pfs").out == s.content)
    }

    @Test func keyServiceAnswersBadRequestsWith4xxAndKeepsRunning() throws {
        let s = try ShareScene()
        s.startService("--rate-limit 2")
        #expect(s.share("--to rita --expires 7d -o k.pfs").status == 0)
        #expect(s.post("{not json").0 == 400)
        #expect(s.post("{\"share_id\":\"zz\"}").0 == 400)
        #expect(s.post(String(repeating: "x", count: 20_000)).0 == 413)
        let good = s.signed("k.pfs")
        #expect(s.post(good).0 == 200)
        let replay = s.post(good)
        #expect(replay.0 == 409 && replay.1.contains("replay"), "\(replay)")
        var forged = good
        if let r = forged.range(of: "\"mac\":\"") {
            let i = r.upperBound; forged.replaceSubrange(i...i, with: forged[i] == "a" ? "b" : "a")
        }
        #expect(s.post(forged).0 == 401)
        #expect(s.post(s.signed("k.pfs", timeOffset: -3600)).0 == 401)
        // eve signs for herself: authenticated, but not a recipient.
        #expect(s.post(s.signed("k.pfs", as: "eve")).0 == 403)
        // Rate limit per identity (2/s, bursts of 4): 15 signed requests sent back to back by one curl.
        var args: [String] = []
        for i in 0..<15 {
            try s.signed("k.pfs", as: "eve").write(
                toFile: s.m.dir + "/burst\(i).json", atomically: true, encoding: .utf8)
            args.append(
                "\(i == 0 ? "" : "--next ")-s -o /dev/null -w '%{http_code} ' -H 'Content-Type: application/json' --data-binary @'\(s.m.dir)/burst\(i).json' '\(s.serviceURL ?? "")/v1/key'"
            )
        }
        let statuses = MountEnv.sh("curl " + args.joined(separator: " ")).out.split(separator: " ").compactMap {
            Int($0)
        }
        #expect(statuses.count == 15 && statuses.contains(429) && statuses.contains(403), "\(statuses)")
        let health = MountEnv.sh("curl -s '\(s.serviceURL ?? "")/v1/health'")
        #expect(health.out.contains("\"status\":\"ok\""))
        #expect(s.rows("share-open").contains { ($0["detail"] as? String)?.contains("replay") == true })
    }

    /// Anyone can make a key that signs for itself: fresh keys known neither to the share nor to the store get
    /// a 403 and reach neither the ledger nor the owner's notifications.
    @Test func freshKeysReachNeitherTheLedgerNorTheOwner() throws {
        let s = try ShareScene()
        s.startService()
        #expect(s.share("--to rita --expires 7d --notify -o f.pfs").status == 0)
        let before = s.rows("share-open").count
        for i in 0..<8 {
            let who = "mallory\(i)"
            MountEnv.sh("PROTFS_CONFIG_DIR='\(s.m.dir)/\(who)' '\(MountEnv.binary)' identity create \(who) >/dev/null")
            let (status, body) = s.post(s.signed("f.pfs", as: who))
            #expect(status == 403 && body.contains("unknown-key"), "\(status) \(body)")
        }
        #expect(s.rows("share-open").count == before, "fresh keys made ledger rows")
        usleep(300_000)
        #expect(s.notifications().isEmpty, "fresh keys made notifications")
        #expect(s.post(s.signed("f.pfs", as: "eve")).0 == 403)
        #expect(s.rows("share-open").count == before + 1, "a known key's refusal must still be a row")
    }

    @Test func keyServiceOverHTTPS() throws {
        let s = try ShareScene()
        let d = s.m.dir
        let gen = MountEnv.sh(
            """
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '\(d)/tls.key' -out '\(d)/tls.crt' \
              -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>&1
            """)
        #expect(gen.status == 0, "\(gen.out)")
        s.startService("--tls-cert '\(d)/tls.crt' --tls-key '\(d)/tls.key'")
        #expect(s.serviceURL?.hasPrefix("https://127.0.0.1:") == true)
        #expect(MountEnv.sh("curl -s --cacert '\(d)/tls.crt' '\(s.serviceURL ?? "")/v1/health'").out.contains("\"ok\""))
        #expect(s.share("--to rita --expires 7d -o tls.pfs").status == 0)
        // The recipient trusts the service through the system's store only: refused until its CA is installed.
        let untrusted = s.open("tls.pfs", as: "rita", "--stdout --no-offline-copy")
        #expect(untrusted.status == 1 && untrusted.err.contains("certificate"), "\(untrusted.err)")
        let anchor = "/usr/local/share/ca-certificates/protfs-test-\(getpid()).crt"
        MountEnv.sh("cp '\(d)/tls.crt' '\(anchor)' && update-ca-certificates >/dev/null 2>&1")
        defer { MountEnv.sh("rm -f '\(anchor)' && update-ca-certificates --fresh >/dev/null 2>&1") }
        let trusted = s.open("tls.pfs", as: "rita", "--stdout --no-offline-copy")
        #expect(trusted.out == s.content && trusted.err.contains("key service"), "\(trusted.err)")
    }

    @Test func failedNotificationsAreLoggedAndRetried() throws {
        let s = try ShareScene()
        s.startService("--notify-command /bin/false")
        #expect(s.share("--to rita --expires 7d --notify -o f.pfs").status == 0)
        // The open is answered although the notification fails.
        #expect(s.open("f.pfs", as: "rita", "--stdout --no-offline-copy").out == s.content)
        var rows: [[String: Any]] = []
        for _ in 0..<60 {
            rows = s.rows("notify")
            if rows.count >= 2 { break }
            usleep(100_000)
        }
        #expect(rows.count >= 2, "\(rows)")
        #expect(
            rows.first.flatMap { $0["detail"] as? String }.map {
                $0.contains("attempt 1") && $0.contains("retrying in 1 s")
            } == true)
        #expect(rows.allSatisfy { $0["outcome"] as? String == "error" })
    }
}
