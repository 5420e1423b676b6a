import Foundation
import Testing

/// Users and groups x labels x operations, the expected answer of every cell taken from the policy engine
/// (`protfs policy explain`), the actual answer from the mount; every refusal by protfs is a ledger row.
@Suite(.serialized, .enabled(if: MountEnv.enabled, "needs root and /dev/fuse"))
struct AccessMatrixTests {
    static let policy = MountEnv.packageRoot + "/Tests/Fixtures/mount-policy.yaml"
    /// folder -> (label, the user who owns the files there, a higher label, a lower label)
    static let folders: [(folder: String, label: String, owner: String, up: String?, down: String?)] = [
        ("public", "public", "pfbob", "general", nil),
        ("general", "general", "pfbob", "conf/fin", "public"),
        ("finance", "conf/fin", "pfalice", "conf/hr", "general"),
        ("hr", "conf/hr", "pfcarol", nil, "general")
    ]
    static let users = ["pfalice", "pfbob", "pfcarol", "pfdave", "root"]
    static let ops = [
        "read", "write", "create", "rename", "rename-out", "rename-in", "delete", "relabel-up",
        "relabel-down", "setxattr", "removexattr", "chmod", "chown"
    ]

    nonisolated(unsafe) static var cache: [String: Set<String>] = [:]

    /// Rights of `user` on a file of `path`, as the file's owner or not, from the policy engine.
    static func rights(_ user: String, _ path: String, owner: Bool) -> Set<String> {
        let key = "\(user) \(path) \(owner)"
        if let r = cache[key] { return r }
        let r = explain(user, path, owner: owner)
        cache[key] = r
        return r
    }

    static func explain(_ user: String, _ path: String, owner: Bool) -> Set<String> {
        let who = user == "root" ? "--uid 0 --gid 0" : "--user \(user)"
        let out = MountEnv.sh("'\(MountEnv.binary)' policy explain '\(policy)' '\(path)' \(who)").out
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("rights:") }) else { return [] }
        let text = String(line.dropFirst("rights:".count)).trimmingCharacters(in: .whitespaces)
        let parts = text.components(separatedBy: " (as the file's creator: ")
        let chosen = owner ? String(parts[1].dropLast()) : parts[0]
        return chosen == "none" ? [] : Set(chosen.split(separator: ",").map(String.init))
    }

    @Test func everyCellMatchesThePolicy() throws {
        let m = try MountedStore()
        let justifyDown = ["conf/fin", "conf/hr"]
        var cells = 0, denied = 0, mismatches: [String] = []
        var denyRows = m.ledger("--denied").count
        for f in Self.folders {
            for u in Self.users {
                for op in Self.ops {
                    let file = m.path("\(f.folder)/m-\(u)-\(op).txt")
                    MountEnv.sh(
                        "echo data > '\(file)' && chmod 0666 '\(file)' && setfattr -n user.x -v 1 '\(file)'",
                        as: f.owner)
                    let isOwner = u == f.owner
                    let r = Self.rights(u, "/\(f.folder)/m.txt", owner: isOwner)
                    let plain = Self.rights(u, "/\(f.folder)/m.txt", owner: false)
                    var command: String
                    var expected: Bool
                    switch op {
                    case "read": command = "cat '\(file)'"; expected = r.contains("view")
                    case "write": command = "echo more >> '\(file)'"; expected = r.contains("edit")
                    case "create":
                        command = "echo new > '\(m.path("\(f.folder)/new-\(u).txt"))'";
                        expected = plain.contains("edit")
                    case "rename": command = "mv '\(file)' '\(file).moved'"; expected = r.contains("edit")
                    case "rename-out":
                        let out = f.folder == "public" ? "general" : "public"
                        command = "mv '\(file)' '\(m.path("\(out)/out-\(f.folder)-\(u).txt"))'";
                        expected = r.contains("edit")
                    case "rename-in":
                        let src = f.folder == "public" ? "general" : "public"
                        let mine = m.path("\(src)/in-\(f.folder)-\(u).txt")
                        MountEnv.sh("echo mine > '\(mine)'", as: u == "root" ? nil : u)
                        command = "mv '\(mine)' '\(m.path("\(f.folder)/in-\(u).txt"))'"
                        expected = plain.contains("edit")
                    case "delete": command = "rm -f '\(file)'"; expected = r.contains("edit")
                    case "relabel-up":
                        guard let up = f.up else { continue }
                        command = "setfattr -n user.protfs.label -v '\(up)' '\(file)'"; expected = r.contains("owner")
                    case "relabel-down":
                        guard let down = f.down else { continue }
                        command = "setfattr -n user.protfs.label -v '\(down)' '\(file)'"
                        expected = r.contains("owner") && !justifyDown.contains(f.label)
                    case "setxattr": command = "setfattr -n user.y -v 2 '\(file)'"; expected = r.contains("edit")
                    case "removexattr": command = "setfattr -x user.x '\(file)'"; expected = r.contains("edit")
                    // The kernel lets only the file's owner (or root) change its mode; protfs then wants `owner`.
                    case "chmod":
                        command = "chmod 0640 '\(file)'"; expected = (isOwner || u == "root") && r.contains("owner")
                    case "chown":
                        guard u == "root" else { continue }  // only root may give a file away (kernel rule)
                        command = "chown pfdave '\(file)'"; expected = r.contains("owner")
                    default: continue
                    }
                    let result = MountEnv.sh(command, as: u == "root" ? nil : u)
                    cells += 1
                    if (result.status == 0) != expected {
                        mismatches.append(
                            "\(u) \(op) on \(f.label): expected \(expected ? "allowed" : "denied"), got status \(result.status) \(result.err)"
                        )
                    }
                    if !expected {
                        denied += 1
                        let kernelRefuses = op == "chmod" && !isOwner && u != "root"
                        let after = m.ledger("--denied").count
                        if !kernelRefuses && after <= denyRows {
                            mismatches.append("\(u) \(op) on \(f.label): refused without a ledger row")
                        }
                        denyRows = after
                    }
                }
            }
        }
        print("access matrix: \(cells) cells, \(denied) refusals, \(mismatches.count) mismatches")
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        #expect(cells >= 200)
    }
}
