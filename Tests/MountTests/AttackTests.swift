import Foundation
import Testing

/// Attacks an unprivileged local user can make on the daemon, which runs as root for everyone (issue 17):
/// each runs as a real user against a real mount.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct AttackTests {
    /// The attack scripts, copied where the test users can read them.
    static func script(_ m: MountedStore, _ name: String) -> String {
        let dest = m.dir + "/" + name
        MountEnv.sh("cp '\(MountEnv.packageRoot)/Tests/Fixtures/attacks/\(name)' '\(dest)' && chmod 0644 '\(dest)'")
        return dest
    }

    /// A root-only file whose content is a valid revoke request: if the daemon ever reads it for the caller,
    /// its answer names the share id inside.
    static func secret(_ m: MountedStore) -> String {
        let path = m.dir + "/secret.json"
        MountEnv.sh("printf '{\"shareId\":\"deadbeefcafe\"}' > '\(path)' && chmod 0600 '\(path)'")
        return path
    }

    /// An O_PATH descriptor of a file the caller cannot read, handed over as it is, and swapped into the named
    /// slot by a second thread: the daemon must read neither.
    @Test func controlChannelNeverReadsAFileTheCallerCannotRead() throws {
        let m = try MountedStore()
        let probe = Self.script(m, "revoke_probe.py"), secret = Self.secret(m)
        for mode in ["static", "race"] {
            let r = MountEnv.sh("/usr/bin/python3 '\(probe)' '\(m.mnt)' '\(secret)' \(mode) 400", as: "pfbob")
            #expect(r.status == 0, "\(r.err)")
            #expect(!r.out.contains("deadbeefcafe"), "\(mode): the daemon read a root-only file for pfbob")
            #expect(r.out.contains("unreadable revoke request"), "\(mode): \(r.out.prefix(300))")
        }
    }

    /// The output descriptor of a share may only be a regular file the caller opened for writing: an O_PATH
    /// descriptor of a root-only file is refused and the file is left as it was.
    @Test func shareOutputRefusesAPathDescriptor() throws {
        let m = try MountedStore()
        let victim = m.dir + "/victim"
        MountEnv.sh("echo untouched > '\(victim)' && chmod 0600 '\(victim)'")
        let taken = CallerProbe.shareOutput(m, to: victim)
        #expect(taken.status == 0, "\(taken.err)")
        #expect(taken.out.contains("refused"), "\(taken.out)")
        #expect(MountEnv.sh("cat '\(victim)'").out == "untouched\n", "the share wrote into a root-only file")
    }

    /// Eight requests naming a FIFO would each block a worker in open(2) forever: the mount must keep serving
    /// other users while the attacker holds them, and after.
    @Test func fifoDescriptorsDoNotHangTheMount() throws {
        let m = try MountedStore()
        MountEnv.sh("echo hi > '\(m.path("general/x.txt"))'")
        let fifo = m.dir + "/fifo"
        MountEnv.sh("mkfifo '\(fifo)' && chmod 0666 '\(fifo)'")
        let hang = Self.script(m, "fifo_hang.py")
        let attacker = MountEnv.spawn(
            "exec setpriv --reuid=pfbob --regid=users --init-groups -- "
                + "/usr/bin/python3 '\(hang)' '\(m.path("general/x.txt"))' '\(fifo)' 20")
        defer { MountEnv.stop(attacker) }
        usleep(1_500_000)
        for i in 0..<3 {
            let r = MountEnv.sh(
                "timeout 10 cat '\(m.path("general/x.txt"))'"
                    + " && timeout 10 ls '\(m.mnt)/general' >/dev/null"
                    + " && timeout 10 sh -c 'echo \(i) > \(m.path("public/y\(i).txt"))'", as: "pfcarol")
            #expect(r.status == 0, "the mount stopped answering other users: \(r.err)")
        }
    }

    /// The store itself is root's alone: local users cannot enter it to roll back or delete containers, and
    /// the mount's root shows the mode the share needs (chmod of the mount root is kept across mounts).
    @Test func storeIsClosedToLocalUsersAndTheMountRootKeepsItsMode() throws {
        let m = try MountedStore()
        MountEnv.sh("echo salary > '\(m.path("finance/pay.txt"))'", as: "pfalice")
        #expect(MountEnv.sh("stat -c %a:%u '\(m.store)'").out == "700:0\n")
        #expect(MountEnv.sh("ls '\(m.store)/finance'", as: "pfbob").status != 0, "pfbob could list the store")
        #expect(MountEnv.sh("rm -f '\(m.store)/finance/pay.txt'", as: "pfalice").status != 0)
        #expect(MountEnv.sh("chmod 1777 '\(m.mnt)'").status == 0)
        #expect(MountEnv.sh("stat -c %a '\(m.mnt)'").out == "1777\n")
        #expect(MountEnv.sh("stat -c %a '\(m.store)'").out == "700\n", "chmod of the mount root reached the store")
        #expect(m.unmount().status == 0)
        // A store opened up by hand is closed again at mount, with a warning, and keeps presenting its mode.
        MountEnv.sh("chmod 0755 '\(m.store)'")
        let r = MountEnv.sh("'\(MountEnv.binary)' mount '\(m.store)' '\(m.mnt)' --passphrase-file '\(m.pw)'")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("local users could change containers"), "no warning: \(r.err)")
        #expect(MountEnv.sh("stat -c %a '\(m.store)'").out == "700\n")
        #expect(MountEnv.sh("stat -c %a '\(m.mnt)'").out == "1777\n")
        #expect(MountEnv.sh("cat '\(m.path("finance/pay.txt"))'", as: "pfalice").out == "salary\n")
    }

    /// A hard link is a file coming to live in a folder: it meets that folder's rule, and the file takes the
    /// most sensitive label among its names.
    @Test func hardLinksMeetTheDestinationFoldersRule() throws {
        let m = try MountedStore()
        MountEnv.sh("echo bait > '\(m.path("public/p.txt"))'", as: "pfbob")
        let planted = MountEnv.sh("ln '\(m.path("public/p.txt"))' '\(m.path("finance/p.txt"))'", as: "pfbob")
        #expect(planted.status != 0, "pfbob linked a file into /finance")
        MountEnv.sh("echo notes > '\(m.path("public/a.txt"))'", as: "pfalice")
        let linked = MountEnv.sh("ln '\(m.path("public/a.txt"))' '\(m.path("finance/a.txt"))'", as: "pfalice")
        #expect(linked.status == 0, "\(linked.err)")
        #expect(m.label("public/a.txt") == "conf/fin")
        #expect(
            MountEnv.sh("cat '\(m.path("public/a.txt"))'", as: "pfbob").status != 0,
            "the /public name stayed public")
    }

    /// Folders are checked too: an exchange that would plant a folder is refused, and a folder moved with
    /// its contents has every file raised to the new folder's label.
    @Test func foldersMovedOrExchangedMeetTheRule() throws {
        let m = try MountedStore()
        let exchange = Self.script(m, "exchange.py")
        MountEnv.sh(
            "mkdir '\(m.path("public/d"))' && echo bait > '\(m.path("public/d/f.txt"))'"
                + " && mkdir '\(m.path("finance/evil"))'", as: "pfbob")
        let r = MountEnv.sh(
            "/usr/bin/python3 '\(exchange)' '\(m.path("public/d"))' '\(m.path("finance/evil"))'",
            as: "pfbob")
        #expect(r.status != 0, "pfbob exchanged a folder into /finance")
        #expect(MountEnv.sh("test -e '\(m.path("finance/evil/f.txt"))'").status != 0)
        MountEnv.sh(
            "mkdir -p '\(m.path("public/q3/sub"))' && echo sums > '\(m.path("public/q3/sub/s.txt"))'",
            as: "pfalice")
        #expect(MountEnv.sh("mv '\(m.path("public/q3"))' '\(m.path("finance/q3"))'", as: "pfalice").status == 0)
        #expect(m.label("finance/q3/sub/s.txt") == "conf/fin")
        #expect(MountEnv.sh("cat '\(m.path("finance/q3/sub/s.txt"))'", as: "pfbob").status != 0)
    }

    /// A protected file's user attributes are read only with `view`, and its times changed only with `edit`
    /// (with a row), even where the mode bits let the kernel pass the request on.
    @Test func attributesAndTimesNeedTheFilesRights() throws {
        let m = try MountedStore()
        let f = m.path("finance/x.txt")
        MountEnv.sh(
            "echo pay > '\(f)' && chmod 0666 '\(f)' && setfattr -n user.note -v 'salary review' '\(f)'",
            as: "pfalice")
        #expect(MountEnv.sh("getfattr -n user.note --only-values '\(f)'", as: "pfalice").out == "salary review")
        let read = MountEnv.sh("getfattr -n user.note --only-values '\(f)'", as: "pfbob")
        #expect(read.status != 0 && !read.out.contains("salary"), "pfbob read a protected file's attribute")
        #expect(MountEnv.sh("touch '\(f)'", as: "pfbob").status != 0, "pfbob changed the times without edit")
        let refusals = m.ledger("--event deny --user pfbob").compactMap { $0["detail"] as? String }
        #expect(refusals.contains { $0.hasPrefix("setattr") }, "no row for the refused time change: \(refusals)")
        #expect(MountEnv.sh("touch '\(f)'", as: "pfalice").status == 0)
    }

    /// Past PATH_MAX the daemon cannot read a path back: a file there must never get a weaker label than its
    /// folder's; creating there is refused instead.
    @Test func pathsPastPathMaxKeepTheirFoldersRule() throws {
        let m = try MountedStore()
        let deep = Self.script(m, "deep_paths.py")
        let r = MountEnv.sh("/usr/bin/python3 '\(deep)' '\(m.path("finance"))' 25", as: "pfalice")
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
        #expect(lines.contains("conf/fin"), "\(r.out)")
        #expect(lines.contains { $0.contains("ENAMETOOLONG") }, "nothing was refused: \(r.out)")
        for l in lines { #expect(l == "conf/fin" || l.contains("ENAMETOOLONG"), "a deep file got '\(l)'") }
    }

    /// Root imports a tree a user owns while the user keeps swapping a folder of it for a link to a root-only
    /// folder: nothing of the root-only folder may reach the mount.
    @Test func importNeverFollowsAFolderSwappedForALink() throws {
        let m = try MountedStore()
        let swap = Self.script(m, "swap_dir.py")
        let src = m.dir + "/src", secret = m.dir + "/secret"
        // The root-only folder also holds a folder with an attribute and a link, named as in the user's tree:
        // read by path through the swapped folder, they would be copied in instead.
        MountEnv.sh(
            "mkdir -p '\(secret)/sub' && chmod 0700 '\(secret)' && for i in $(seq 40); do "
                + "echo TOPSECRET > '\(secret)/f'$i; done && setfattr -n user.note -v TOPSECRET '\(secret)/sub'"
                + " && ln -s TOPSECRET-target '\(secret)/lnk'")
        MountEnv.sh(
            "mkdir -p '\(src)/d/sub' && for i in $(seq 40); do echo public > '\(src)/d/f'$i; done"
                + " && ln -s public-target '\(src)/d/lnk' && chown -R pfbob '\(src)'")
        // Unattacked first: the import works on this tree at all.
        MountEnv.sh("'\(MountEnv.binary)' import '\(src)' '\(m.path("public/base"))' >/dev/null 2>&1")
        let base = MountEnv.sh("grep -rl public '\(m.path("public/base"))' | wc -l").out
        #expect(base.trimmingCharacters(in: .whitespacesAndNewlines) == "40", "the unattacked import: \(base)")
        let attacker = MountEnv.spawn(
            "exec setpriv --reuid=pfbob --regid=users --init-groups -- "
                + "/usr/bin/python3 '\(swap)' '\(src)/d' '\(secret)' 30")
        defer { MountEnv.stop(attacker) }
        for round in 0..<12 {
            MountEnv.sh("'\(MountEnv.binary)' import '\(src)' '\(m.path("public/imp\(round)"))' >/dev/null 2>&1")
        }
        let leaked = MountEnv.sh("grep -rl TOPSECRET '\(m.path("public"))'")
        #expect(leaked.out.isEmpty, "root-only content was imported: \(leaked.out.prefix(200))")
        let walk =
            "import os,sys\nfor top, dirs, files in os.walk(sys.argv[1]):\n for n in dirs + files:\n"
            + "  p = os.path.join(top, n)\n  if os.path.islink(p) and 'TOPSECRET' in os.readlink(p): print('link', p)\n"
            + "  elif not os.path.islink(p):\n   for a in os.listxattr(p):\n"
            + "    if b'TOPSECRET' in os.getxattr(p, a): print('xattr', p)"
        let meta = MountEnv.sh("/usr/bin/python3 -c \"\(walk)\" '\(m.path("public"))'")
        #expect(
            meta.out.isEmpty && meta.status == 0,
            "root-only metadata was imported: \(meta.out.prefix(300)) \(meta.err)")
    }

    /// Found by an attack review: root's re-run of an import followed links a user swapped in for destination
    /// folders they own, and chmod'ed a root-only file (to the source's 0757) and wrote files into a root-only
    /// folder. The destination is reached one name at a time from a descriptor now, never through a link.
    @Test func importNeverFollowsALinkPlantedInTheDestination() throws {
        let m = try MountedStore()
        let src = m.dir + "/src", victim = m.dir + "/victim", victimDir = m.dir + "/victimdir"
        MountEnv.sh(
            "mkdir -p '\(src)/a' && echo payload > '\(src)/a/f' && chown -R pfbob '\(src)'"
                + " && chmod 0757 '\(src)/a'"
                + " && echo secret > '\(victim)' && chmod 0600 '\(victim)' && mkdir -m 0700 '\(victimDir)'")
        let imp = "'\(MountEnv.binary)' import '\(src)' '\(m.path("general"))' >/dev/null 2>&1"
        MountEnv.sh(imp)
        #expect(MountEnv.sh("cat '\(m.path("general/a/f"))'", as: "pfbob").out == "payload\n")
        for target in [victim, victimDir] {
            let swap = "cd '\(m.path("general"))' && rm -rf a && ln -s '\(target)' a"
            #expect(MountEnv.sh(swap, as: "pfbob").status == 0)
            MountEnv.sh("touch '\(src)/a/f' && " + imp)
        }
        #expect(MountEnv.sh("stat -c %a:%U '\(victim)'").out == "600:root\n", "the import changed a root-only file")
        #expect(
            MountEnv.sh("stat -c %a '\(victimDir)' && ls -A '\(victimDir)'").out == "700\n",
            "the import wrote into a root-only folder")
    }

    /// `truncate -s 50G` by any user made the daemon write 50 GB of sealed zeros as root (1.5 s per GiB): now
    /// the blocks in between are a hole. It reads as zeros and the store file stays small.
    @Test func growingAFileWritesNoZeros() throws {
        let m = try MountedStore()
        let file = m.path("general/big")
        #expect(MountEnv.sh("echo start > '\(file)'", as: "pfbob").status == 0)
        let grow =
            "import os,sys,time\nt=time.time(); os.truncate(sys.argv[1], 50 << 30)\n"
            + "print(round(time.time() - t, 3))"
        var r = MountEnv.sh("timeout 20 /usr/bin/python3 -c '\(grow)' '\(file)'", as: "pfbob")
        #expect(r.status == 0, "\(r.err)")
        #expect((Double(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99) < 2, "truncate took \(r.out) s")
        r = MountEnv.sh("du -k '\(m.store)/general/big' | cut -f1")
        #expect((Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max) < 1024, "store file: \(r.out) KiB")
        let probe =
            "import os,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nprint(os.fstat(fd).st_size, "
            + "os.pread(fd, 6, 0) == b'start\\n', os.pread(fd, 4096, 25 << 30) == bytes(4096))"
        r = MountEnv.sh("/usr/bin/python3 -c \"\(probe)\" '\(file)'", as: "pfbob")
        #expect(r.out == "\(50 << 30) True True\n", "\(r.out) \(r.err)")
        // An append, whose close classifies the whole file: the scan skips the hole instead of keeping a worker
        // on 50 GiB of zeros (minutes; a 15 TiB file would take hours).
        let append =
            "import os,sys,time\nt=time.time()\nf=open(sys.argv[1], 'a')\n"
            + "f.write('pay 4111 1111 1111 1111'); f.close()\n"
            + "print(round(time.time() - t, 3))"
        r = MountEnv.sh("timeout 60 /usr/bin/python3 -c \"\(append)\" '\(file)'", as: "pfbob")
        #expect(
            (Double(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99) < 3,
            "append and close took \(r.out) s \(r.err)")
        #expect(m.label("general/big") == "conf/fin", "the card number past the hole was not seen")
    }

    /// One process refused 5,000 times in a loop wrote 5,000 rows (about 15,000 a second): identical refusals
    /// within a second are now one row and a count, and every refusal is still accounted for.
    @Test func repeatedRefusalsAreOneRowWithACount() throws {
        let m = try MountedStore()
        let file = m.path("finance/salaries.txt")
        #expect(MountEnv.sh("echo 'alice 100' > '\(file)'", as: "pfalice").status == 0)
        let loop =
            "import os,sys\nn=0\nfor i in range(5000):\n try: os.close(os.open(sys.argv[1], os.O_RDONLY))\n"
            + " except PermissionError: n+=1\nprint(n)"
        let r = MountEnv.sh("/usr/bin/python3 -c \"\(loop)\" '\(file)'", as: "pfbob")
        #expect(r.out == "5000\n", "\(r.out) \(r.err)")
        sleep(3)  // the last second's count is written when that second is over
        let rows = m.ledger("--event deny").filter { $0["path"] as? String == "/finance/salaries.txt" }
        let counted = rows.reduce(0) { total, row in
            let detail = row["detail"] as? String ?? ""
            guard let range = detail.range(of: "repeated ") else { return total + 1 }
            return total + (Int(detail[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
        #expect(rows.count <= 12, "\(rows.count) rows for 5,000 identical refusals")
        #expect(counted == 5000, "the rows account for \(counted) refusals")
    }

    /// A handle held past the label's expiry read on (uncached from the daemon, cached from the kernel): reads
    /// of expiring content all reach the daemon, and after the expiry they are refused.
    @Test func handlesHeldPastAnExpiryStopReading() throws {
        let m = try MountedStore()
        let file = m.path("expiring/t.txt")
        #expect(MountEnv.sh("echo brief > '\(file)' && chmod 0644 '\(file)'", as: "pfalice").status == 0)
        let bob = HeldReader(m, file: file)
        #expect(bob.opened() == "brief\n")
        sleep(3)  // the temp label expires 2 s after labeling
        bob.proceed()
        #expect(bob.result() == "error:Permission denied|fallocate:skipped")
    }

    /// Another user holding `share` on a file filled its header with 88 shares, and the owner could share no
    /// more: someone else may keep 16 grants in it and never its last 1 KiB; the owner still can share.
    @Test func anotherUserCannotFillAFilesHeader() throws {
        let m = try MountedStore()
        let file = m.path("general/report.txt")
        #expect(MountEnv.sh("echo report > '\(file)'", as: "pfalice").status == 0)
        let b = MountEnv.binary, out = m.dir + "/out"
        MountEnv.sh("mkdir -m 0777 '\(out)'")
        var made = 0, refusal = ""
        for i in 0..<40 {
            let r = MountEnv.sh(
                "cd '\(out)' && '\(b)' share '\(file)' --to pfcarol --to pfdave --expires 7d "
                    + "--no-tracking -o b\(i).pfs", as: "pfbob")
            if r.status != 0 { refusal = r.err; break }
            made += 1
        }
        #expect(made == 8, "pfbob made \(made) shares of two grants each")
        #expect(refusal.contains("someone other than its owner may hold 16"), "\(refusal)")
        let r = MountEnv.sh(
            "cd '\(out)' && '\(b)' share '\(file)' --to pfcarol --expires 7d --no-tracking -o a.pfs",
            as: "pfalice")
        #expect(r.status == 0, "the owner could not share: \(r.err)")
    }

    /// A truncate to 2^63 - 1 crashed the daemon (an overflow trap in the container's offsets), ending the mount
    /// for everyone: sizes past what a container can address get EFBIG, and the file is left as it was.
    @Test func hugeSizesAreRefusedWithoutHarm() throws {
        let m = try MountedStore()
        let file = m.path("general/huge")
        #expect(MountEnv.sh("echo hello > '\(file)'", as: "pfbob").status == 0)
        let grow =
            "import os,sys\nfor n in ((1 << 63) - 1, 1 << 62):\n"
            + " try: os.truncate(sys.argv[1], n); print('grew')\n"
            + " except OSError as e: print(e.errno)"
        let r = MountEnv.sh("/usr/bin/python3 -c \"\(grow)\" '\(file)'", as: "pfbob")
        #expect(r.out == "27\n27\n", "\(r.out) \(r.err)")
        #expect(MountEnv.sh("cat '\(file)'", as: "pfbob").out == "hello\n")
        #expect(MountEnv.sh("ls '\(m.path("general"))'", as: "pfcarol").status == 0, "the mount did not survive")
    }

    /// A reader holding a public file open while its owner writes a card number into it (raised to conf/fin):
    /// reads on the old handle stop, from the kernel's cache too, and the first refusal is logged once.
    @Test func handlesOpenedBeforeARaiseStopReading() throws {
        let m = try MountedStore()
        let file = m.path("public/memo.txt")
        #expect(MountEnv.sh("echo hello > '\(file)' && chmod 0666 '\(file)'", as: "pfalice").status == 0)
        let bob = HeldReader(m, file: file)
        #expect(bob.opened() == "hello\n")
        #expect(MountEnv.sh("echo 'pay 4111 1111 1111 1111' >> '\(file)'", as: "pfalice").status == 0)
        #expect(m.label("public/memo.txt") == "conf/fin")
        bob.proceed()
        let result = bob.result()
        #expect(result == "error:Permission denied|fallocate:Permission denied", "pfbob after the raise: \(result)")
        #expect(MountEnv.sh("cat '\(file)'", as: "pfbob").status != 0)
        let refusals = m.ledger("--event deny")
            .filter { ($0["detail"] as? String)?.contains("handle opened before") == true }
        #expect(refusals.count == 2, "one row for the read, one for the fallocate: \(refusals)")
    }
}

/// Hands the daemon a share request whose output descriptor is an O_PATH descriptor of `victim`.
enum CallerProbe {
    static func shareOutput(_ m: MountedStore, to victim: String) -> MountEnv.Result {
        MountEnv.sh("echo shared > '\(m.path("public/s.txt"))'", as: "pfbob")
        let py = """
            import json, os, sys
            out = os.open(sys.argv[2], os.O_PATH)
            req = {"shareId": "00" * 16, "recipients": [], "rights": 1, "expires": None, "tracked": None,
                   "offlineSeconds": 0, "notify": False, "notifyTo": None, "outputFd": out}
            r = os.open(sys.argv[3], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(r, json.dumps(req).encode())
            try:
                print(os.getxattr(sys.argv[1], "user.protfs.share.%d" % r).decode(errors="replace"))
            except OSError as e:
                print("error", e.errno)
            """
        let file = m.dir + "/share_probe.py"
        try? py.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        MountEnv.sh("mkdir -p '\(m.dir)/bob' && chown pfbob '\(m.dir)/bob'")
        return MountEnv.sh(
            "/usr/bin/python3 '\(file)' '\(m.path("public/s.txt"))' '\(victim)' '\(m.dir)/bob/req.json'",
            as: "pfbob")
    }
}
