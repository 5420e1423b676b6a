import Foundation

/// pfbob holding a file open (Tests/Fixtures/attacks/held_reader.py) while something changes his rights:
/// `opened()` is what he read first, `proceed()` lets him read (and grow) again, `result()` says how it went.
final class HeldReader {
    private let sync: String
    private let pid: pid_t

    init(_ m: MountedStore, file: String, as user: String = "pfbob") {
        let reader = AttackTests.script(m, "held_reader.py")
        sync = m.dir + "/sync-" + String(UInt32.random(in: 0...UInt32.max))
        MountEnv.sh("mkdir -m 0777 '\(sync)'")
        pid = MountEnv.spawn(
            "exec /usr/bin/setpriv --reuid=\(user) --regid=$(id -g \(user)) --init-groups -- "
                + "/usr/bin/python3 '\(reader)' '\(file)' '\(sync)'")
    }

    deinit { MountEnv.stop(pid) }

    private func wait(for name: String) -> String? {
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: sync + "/" + name, encoding: .utf8) { return text }
            usleep(50_000)
        }
        return nil
    }

    func opened() -> String? { wait(for: "opened") }
    func proceed() { MountEnv.sh("touch '\(sync)/raised'") }
    func result() -> String { wait(for: "result") ?? "no result" }
}
