import Foundation
import Testing

/// The same POSIX operations on the mount and on a plain directory give the same results.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct PosixParityTests {
    @Test func mountBehavesLikeAPlainDirectory() throws {
        let m = try MountedStore()
        let script = MountEnv.packageRoot + "/Tests/Fixtures/posix_ops.py"
        let plain = m.dir + "/plain"
        mkdir(plain, 0o755)
        let onPlain = MountEnv.sh("/usr/bin/python3 '\(script)' '\(plain)'")
        let onMount = MountEnv.sh("/usr/bin/python3 '\(script)' '\(m.path("general"))'")
        #expect(onPlain.status == 0, "\(onPlain.err)")
        #expect(onMount.status == 0, "\(onMount.err)")
        let a = onPlain.out.split(separator: "\n"), b = onMount.out.split(separator: "\n")
        #expect(a.count == b.count && a.count > 20)
        for (x, y) in zip(a, b) { #expect(x == y) }
        // And the store holds containers, not the plain bytes.
        #expect(!m.storeBytes().contains("0123456789abcdef"))
        #expect(MountEnv.sh("'\(MountEnv.binary)' fsck '\(m.store)' --passphrase-file '\(m.pw)'").status == 0)
    }
}
