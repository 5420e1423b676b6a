import Foundation
import Testing

/// Full disks under the ledger and under the store: clear errors, fail closed, nothing stored is lost.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct HostileTests {
    /// Mounts a tmpfs of `size` at `dir` (removed by the returned closure).
    static func tmpfs(_ dir: String, size: String) -> () -> Void {
        mkdir(dir, 0o755)
        let r = MountEnv.sh("mount -t tmpfs -o size=\(size) protfs-test '\(dir)'")
        #expect(r.status == 0, "tmpfs: \(r.err)")
        return { MountEnv.sh("umount -l '\(dir)'") }
    }

    /// A ledger that cannot commit makes the mount refuse operations (EIO) instead of going on unrecorded;
    /// once space is back, the queued rows are committed and work resumes.
    @Test func ledgerOnAFullDiskFailsClosedThenRecovers() throws {
        let m = try MountedStore()
        #expect(m.unmount().status == 0)
        let ldir = m.dir + "/ledgerfs"
        let cleanup = Self.tmpfs(ldir, size: "2m")
        defer { cleanup() }
        var r = MountEnv.sh(
            "'\(MountEnv.binary)' mount '\(m.store)' '\(m.mnt)' --passphrase-file '\(m.pw)' --ledger '\(ldir)/ledger.db'"
        )
        #expect(r.status == 0, "\(r.err)")
        MountEnv.sh("echo before > '\(m.path("general/before.txt"))'")
        MountEnv.sh("dd if=/dev/zero of='\(ldir)/filler' bs=64k 2>/dev/null; sync")
        var created: [Int] = [], refused = false
        for i in 0..<200 where !refused {
            r = MountEnv.sh("echo \(i) > '\(m.path("general/f\(i).txt"))'")
            if r.status == 0 {
                created.append(i)
            } else {
                refused = true; #expect(r.err.contains("Input/output error"), "\(r.err)")
            }
            usleep(20_000)
        }
        #expect(refused, "the mount kept accepting operations with a ledger that cannot commit")
        // A removal whose row cannot be taken is refused, and the file stays (it was removed, answering 0).
        r = MountEnv.sh("rm '\(m.path("general/before.txt"))'")
        #expect(r.status != 0 && r.err.contains("Input/output error"), "rm with a failing ledger: \(r.err)")
        // So are the namespace and attribute changes whose rows came after their syscall before (issue 18):
        // nothing is made or changed that the ledger does not hold.
        for (what, command, made) in [
            ("mkdir", "mkdir '\(m.path("general/newdir"))'", "general/newdir"),
            ("symlink", "ln -s before.txt '\(m.path("general/link"))'", "general/link"),
            ("link", "ln '\(m.path("general/before.txt"))' '\(m.path("general/hard"))'", "general/hard")
        ] {
            r = MountEnv.sh(command)
            #expect(r.status != 0 && r.err.contains("Input/output error"), "\(what) with a failing ledger: \(r.err)")
            #expect(
                MountEnv.sh("test -e '\(m.path(made))' || test -L '\(m.path(made))'").status != 0,
                "\(what) was done without its row")
        }
        r = MountEnv.sh("setfattr -n user.tag -v 1 '\(m.path("general/before.txt"))'")
        #expect(r.status != 0, "setxattr with a failing ledger")
        #expect(
            MountEnv.sh("getfattr -n user.tag '\(m.path("general/before.txt"))'").status != 0,
            "setxattr was done without its row")
        MountEnv.sh("rm -f '\(ldir)/filler'")
        var resumed = false
        for _ in 0..<50 where !resumed {
            usleep(100_000)
            resumed = MountEnv.sh("echo after > '\(m.path("general/after.txt"))'").status == 0
        }
        #expect(resumed, "the mount did not recover once the ledger had space again")
        let rows = MountEnv.sh(
            "'\(MountEnv.binary)' audit '\(m.store)' --ledger '\(ldir)/ledger.db' --event create --limit 0 --format csv"
        ).out
        for i in created { #expect(rows.contains("/general/f\(i).txt"), "no create row for f\(i), which was allowed") }
        #expect(MountEnv.sh("'\(MountEnv.binary)' audit verify '\(m.store)' --ledger '\(ldir)/ledger.db'").status == 0)
        #expect(MountEnv.sh("cat '\(m.path("general/before.txt"))'").out == "before\n")
    }

    /// A store on a full disk: the writer gets ENOSPC; what was stored before stays readable and fsck-clean.
    @Test func storeOnAFullDiskGivesENOSPCAndKeepsEveryContainerReadable() throws {
        let m = try MountedStore()
        #expect(m.unmount().status == 0)
        let small = m.dir + "/smallfs"
        let cleanup = Self.tmpfs(small, size: "6m")
        defer { cleanup() }
        MountEnv.sh("cp -a '\(m.store)' '\(small)/store'")
        var r = MountEnv.sh(
            "'\(MountEnv.binary)' mount '\(small)/store' '\(m.mnt)' --passphrase-file '\(m.pw)' --ledger '\(m.dir)/ledger.db'"
        )
        #expect(r.status == 0, "\(r.err)")
        MountEnv.sh(
            "head -c 100000 /dev/urandom > '\(m.dir)/keep.bin' && cp '\(m.dir)/keep.bin' '\(m.path("general/keep.bin"))'"
        )
        // 1 MiB writes: the wall is hit by a batch written while the next one is being sealed.
        r = MountEnv.sh("dd if=/dev/urandom of='\(m.path("general/big.bin"))' bs=1M count=13 conv=fsync")
        #expect(r.status != 0 && r.err.contains("No space left on device"), "\(r.err)")
        #expect(MountEnv.sh("cmp '\(m.dir)/keep.bin' '\(m.path("general/keep.bin"))'").status == 0)
        // The file that hit the wall reads back to its last complete byte, without EIO.
        r = MountEnv.sh("cat '\(m.path("general/big.bin"))' | wc -c")
        #expect(r.status == 0 && (Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "\(r.err)")
        MountEnv.sh("rm -f '\(m.path("general/big.bin"))'")
        #expect(
            MountEnv.sh("echo fine > '\(m.path("general/after.txt"))' && cat '\(m.path("general/after.txt"))'").out
                == "fine\n")
        #expect(MountEnv.sh("'\(MountEnv.binary)' unmount '\(m.mnt)'").status == 0)
        r = MountEnv.sh("'\(MountEnv.binary)' fsck '\(small)/store' --passphrase-file '\(m.pw)'")
        #expect(r.status == 0, "fsck: \(r.out) \(r.err)")
        try m.mount()
    }

    /// More files than the daemon has descriptors: the cold inodes are dropped from the kernel's cache (and
    /// their descriptors closed) instead of callers getting EMFILE.
    @Test func moreFilesThanDescriptors() throws {
        let m = try MountedStore()
        #expect(m.unmount().status == 0)
        // Started holding 300 inherited descriptors (as a harness or a shell can): the daemon must close them, or
        // they eat the descriptors inodes need (with 300 held, `ls -l` got EMFILE every run) and pin the
        // caller's files open as root.
        let marker = m.dir + "/inherited-marker"
        let holder =
            "import os,sys\nfds=[os.open('\(marker)', os.O_RDONLY|os.O_CREAT) for i in range(300)]\n"
            + "[os.set_inheritable(f, True) for f in fds]\nos.execvp('prlimit', sys.argv[1:])"
        var r = MountEnv.sh(
            "/usr/bin/python3 -c \"\(holder)\" prlimit --nofile=1024:1024 '\(MountEnv.binary)' mount "
                + "'\(m.store)' '\(m.mnt)' --passphrase-file '\(m.pw)'")
        #expect(r.status == 0, "\(r.err)")
        r = MountEnv.sh(
            "for p in $(pgrep -f 'protfs mount \(m.store) '); do ls -l /proc/$p/fd; done"
                + " | grep -c inherited-marker")
        #expect(r.out == "0\n", "the daemon kept \(r.out) inherited descriptors")
        r = MountEnv.sh(
            "/usr/bin/python3 -c \"import os\nfor i in range(3000): open(os.path.join('\(m.path("general"))', 'f%d' % i), 'w').write(str(i))\""
        )
        #expect(r.status == 0, "creating 3000 files with 1024 descriptors: \(r.err)")
        r = MountEnv.sh("cd '\(m.path("general"))' && cat f* | wc -c && ls -l | wc -l")
        #expect(r.status == 0 && r.err.isEmpty, "\(r.err)")
        #expect(r.out == "10890\n3001\n", "\(r.out)")
    }

    /// Bad stores and bad names: each refused with a clear error, nothing already stored lost.
    @Test func badStoresAndNames() throws {
        let m = try MountedStore()
        MountEnv.sh("echo keep > '\(m.path("general/keep.txt"))'")
        // A file that is not a container, dropped into the store: its reads fail (EIO, logged), nothing else does.
        MountEnv.sh("echo 'plain text, not a container' > '\(m.store)/general/dropped.txt'")
        var r = MountEnv.sh("cat '\(m.path("general/dropped.txt"))'")
        #expect(r.status != 0 && r.err.contains("Input/output error"), "\(r.err)")
        #expect(MountEnv.sh("ls '\(m.path("general"))'").out.contains("dropped.txt"))
        #expect(m.ledger("--event integrity-failure").contains { $0["path"] as? String == "/general/dropped.txt" })
        MountEnv.sh("rm -f '\(m.store)/general/dropped.txt'")
        // Names of 255 bytes work end to end; 256 is ENAMETOOLONG, as on the backing filesystem.
        let long = String(repeating: "n", count: 251) + ".txt"
        let renamed = "r" + long.dropFirst()
        r = MountEnv.sh("cd '\(m.path("general"))' && echo long > \(long) && mv \(long) \(renamed) && cat \(renamed)")
        #expect(r.status == 0 && r.out == "long\n", "\(r.err)")
        r = MountEnv.sh("echo x > '\(m.path("general/" + long + "x"))'")
        #expect(r.status != 0 && r.err.contains("File name too long"), "\(r.err)")
        // A deep tree: 100 levels, a file at the bottom.
        let deep = (0..<100).map { "d\($0)" }.joined(separator: "/")
        r = MountEnv.sh(
            "mkdir -p '\(m.path("general/" + deep))' && echo deep > '\(m.path("general/" + deep + "/f.txt"))' && cat '\(m.path("general/" + deep + "/f.txt"))'"
        )
        #expect(r.status == 0 && r.out == "deep\n", "\(r.err)")
        #expect(m.unmount().status == 0)

        // A policy edited into invalid YAML in the store: refused with FILE:LINE:COL, exit 2.
        let policy = m.store + "/.protfs/policy.yaml"
        let original = try String(contentsOfFile: policy, encoding: .utf8)
        try original.replacingOccurrences(of: "rank: 10", with: "rank: ten").write(
            toFile: policy, atomically: true, encoding: .utf8)
        r = MountEnv.sh("'\(MountEnv.binary)' mount '\(m.store)' '\(m.mnt)' --passphrase-file '\(m.pw)'")
        #expect(r.status == 2 && r.err.contains("policy.yaml:") && r.err.contains("rank"), "\(r.err)")
        try original.write(toFile: policy, atomically: true, encoding: .utf8)
        // A truncated config: one clear line, nothing mounted, nothing changed.
        let config = m.store + "/.protfs/config.json"
        let saved = try Data(contentsOf: URL(fileURLWithPath: config))
        try saved.prefix(saved.count / 2).write(to: URL(fileURLWithPath: config))
        r = MountEnv.sh("'\(MountEnv.binary)' mount '\(m.store)' '\(m.mnt)' --passphrase-file '\(m.pw)'")
        #expect(r.status == 1 && r.err.contains("config.json is corrupt"), "\(r.err)")
        try saved.write(to: URL(fileURLWithPath: config))
        // A read-only store: refused, saying why.
        let ro = m.dir + "/ro"
        mkdir(ro, 0o755)
        MountEnv.sh("mount --bind '\(m.store)' '\(ro)' && mount -o remount,ro,bind '\(ro)'")
        r = MountEnv.sh("'\(MountEnv.binary)' mount '\(ro)' '\(m.mnt)' --passphrase-file '\(m.pw)'")
        MountEnv.sh("umount '\(m.mnt)' 2>/dev/null; umount '\(ro)'")
        #expect(r.status == 1 && r.err.contains("read-only"), "\(r.err)")
        // And everything stored before is still there.
        try m.mount()
        #expect(MountEnv.sh("cat '\(m.path("general/keep.txt"))'").out == "keep\n")
    }

    /// No access before its row is committed: the open-read row is in the database file (read directly,
    /// without asking the mount to flush) as soon as `cat` has its data.
    @Test func openRowIsCommittedBeforeTheOpenReturns() throws {
        let m = try MountedStore()
        MountEnv.sh("echo secret > '\(m.path("general/s.txt"))'")
        for i in 0..<20 {
            let r = MountEnv.sh(
                "cat '\(m.path("general/s.txt"))' >/dev/null && sqlite3 '\(m.store)/.protfs/ledger.db' \"SELECT count(*) FROM all_events WHERE event = 'open-read' AND CAST(path AS TEXT) = '/general/s.txt'\""
            )
            #expect(
                r.status == 0 && Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) == i + 1,
                "open \(i): \(r.out) \(r.err)")
        }
    }
}
