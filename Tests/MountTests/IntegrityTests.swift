import Foundation
import Testing

/// Damage in the store while mounted: that read fails with EIO and is logged; everything else keeps working.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct IntegrityTests {
    @Test func corruptBlockFailsThatReadOnly() throws {
        let m = try MountedStore()
        let data = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        _ = FileManager.default.createFile(atPath: m.dir + "/src", contents: data)
        MountEnv.sh("cp '\(m.dir)/src' '\(m.path("general/a.bin"))' && cp '\(m.dir)/src' '\(m.path("general/b.bin"))'")
        // Flip one byte inside block 3 of a.bin in the store, then drop the kernel's cached pages.
        let backing = m.store + "/general/a.bin"
        var raw = Array(FileManager.default.contents(atPath: backing)!)
        raw[8192 + 4124 * 3 + 500] ^= 0x5A
        _ = FileManager.default.createFile(atPath: backing, contents: Data(raw))
        #expect(m.unmount().status == 0)
        try m.mount()
        let r = MountEnv.sh("dd if='\(m.path("general/a.bin"))' of=/dev/null bs=4096 skip=3 count=1 2>&1")
        #expect(r.status != 0 && r.out.contains("Input/output error"), "\(r.out)")
        // Blocks before the damage still read; the other file is untouched; the mount is still up.
        #expect(MountEnv.sh("dd if='\(m.path("general/a.bin"))' of=/dev/null bs=4096 count=2").status == 0)
        #expect(FileManager.default.contents(atPath: m.path("general/b.bin")) == data)
        let rows = m.ledger("--event integrity-failure")
        #expect(
            rows.contains {
                $0["path"] as? String == "/general/a.bin" && ($0["detail"] as? String)?.contains("block 3") == true
            })
        #expect(MountEnv.sh("'\(MountEnv.binary)' fsck '\(m.store)' --passphrase-file '\(m.pw)'").status == 1)
    }
}
