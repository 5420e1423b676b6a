import Foundation
import Testing

/// `mount -t fuse.protfs` through Mount/mount.fuse.protfs, as an fstab line would.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct MountHelperTests {
    @Test func mountTypeFuseProtfsWithPassphraseFile() throws {
        let m = try MountedStore()
        #expect(m.unmount().status == 0)
        let helper = MountEnv.packageRoot + "/Mount/mount.fuse.protfs"
        let bin = URL(fileURLWithPath: MountEnv.binary).deletingLastPathComponent().path
        // mount(8) looks for /sbin/mount.fuse.protfs; point it at the repository's helper for the test.
        let link = "/sbin/mount.fuse.protfs"
        let hadLink = FileManager.default.fileExists(atPath: link)
        if !hadLink { symlink(helper, link) }
        defer { if !hadLink { unlink(link) } }
        let installed = "/usr/local/bin/protfs"
        let hadBinary = FileManager.default.fileExists(atPath: installed)
        if !hadBinary { symlink(MountEnv.binary, installed) }
        defer { if !hadBinary { unlink(installed) } }
        let r = MountEnv.sh(
            "PATH='\(bin)':$PATH mount -t fuse.protfs '\(m.store)' '\(m.mnt)' -o passphrase_file='\(m.pw)',nofail,_netdev"
        )
        #expect(r.status == 0, "\(r.err)")
        #expect(MountEnv.sh("grep -q ' \(m.mnt) fuse.protfs ' /proc/mounts").status == 0)
        #expect(
            MountEnv.sh("echo ok > '\(m.path("general/helper.txt"))' && cat '\(m.path("general/helper.txt"))'").out
                == "ok\n")
        // `protfs audit MOUNTPOINT` finds the store through the mount table.
        #expect(
            MountEnv.sh("'\(MountEnv.binary)' audit '\(m.mnt)' --event create --format csv").out.contains(
                "/general/helper.txt"))
        // The store's own metadata never shows through the mount.
        #expect(MountEnv.sh("ls -a '\(m.mnt)'").out.contains(".protfs") == false)
        #expect(MountEnv.sh("cat '\(m.mnt)/.protfs/config.json'").status != 0)
    }

    @Test func badMountsFailClearly() throws {
        let m = try MountedStore()
        // Already mounted.
        var r = MountEnv.sh("'\(MountEnv.binary)' mount '\(m.store)' '\(m.mnt)' --passphrase-file '\(m.pw)'")
        #expect(r.status == 1 && r.err.contains("already mounted"), "\(r.err)")
        // Missing mountpoint, wrong passphrase: one line, nothing mounted.
        r = MountEnv.sh("'\(MountEnv.binary)' mount '\(m.store)' '\(m.dir)/nowhere' --passphrase-file '\(m.pw)'")
        #expect(r.status == 1 && r.err.contains("not a directory"), "\(r.err)")
        try "wrong\n".write(toFile: m.dir + "/wrong", atomically: true, encoding: .utf8)
        mkdir(m.dir + "/mnt2", 0o755)
        r = MountEnv.sh("'\(MountEnv.binary)' mount '\(m.store)' '\(m.dir)/mnt2' --passphrase-file '\(m.dir)/wrong'")
        #expect(r.status == 1 && r.err.contains("wrong passphrase"), "\(r.err)")
        #expect(MountEnv.sh("grep -q '\(m.dir)/mnt2' /proc/mounts").status != 0)
        // A ledger the daemon could not open fails the command, not a detached daemon.
        r = MountEnv.sh(
            "'\(MountEnv.binary)' mount '\(m.store)' '\(m.dir)/mnt2' --passphrase-file '\(m.pw)' --ledger /nonexistent/dir/l.db"
        )
        #expect(r.status == 1 && !r.err.isEmpty, "\(r.err)")
        #expect(MountEnv.sh("grep -q '\(m.dir)/mnt2' /proc/mounts").status != 0)
    }

    /// The daemon runs from /: relative store and mountpoint paths must still work.
    @Test func relativePathsMount() throws {
        let m = try MountedStore()
        #expect(m.unmount().status == 0)
        let r = MountEnv.sh(
            "cd '\(m.dir)' && '\(MountEnv.binary)' mount store mnt --passphrase-file pw && echo hi > mnt/general/r.txt && cat mnt/general/r.txt"
        )
        #expect(r.status == 0 && r.out == "hi\n", "\(r.err)")
    }
}

/// SIGTERM to the daemon: the ledger is flushed, the unmount is recorded, the mount goes away.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct SignalTests {
    @Test func sigtermUnmountsCleanly() throws {
        let m = try MountedStore()
        MountEnv.sh("echo before > '\(m.path("general/a.txt"))'")
        let pid =
            MountEnv.sh("pgrep -f 'protfs mount \(m.store) '").out.split(separator: "\n").first.map(String.init) ?? ""
        #expect(!pid.isEmpty)
        MountEnv.sh("kill -TERM \(pid)")
        var gone = false
        for _ in 0..<50 where !gone {
            usleep(100_000)
            gone = MountEnv.sh("grep -q ' \(m.mnt) ' /proc/mounts").status != 0
        }
        #expect(gone, "still mounted after SIGTERM")
        let events = m.ledger().compactMap { $0["event"] as? String }
        #expect(events.last == "unmount", "\(events.suffix(3))")
        #expect(MountEnv.sh("'\(MountEnv.binary)' audit verify '\(m.store)'").status == 0)
        try m.mount()
        #expect(MountEnv.sh("cat '\(m.path("general/a.txt"))'").out == "before\n")
    }
}
