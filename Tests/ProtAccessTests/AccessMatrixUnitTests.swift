import Glibc
import ProtAccess
import ProtContainer
import ProtLedger
import ProtPolicy
import Testing

/// Every cell of the mount's access matrix (Tests/MountTests/AccessMatrixTests.swift), asked of the decider
/// directly. The expected answers are written out by hand from the policy, not computed by the code under
/// test. The mount test also applies the kernel's own rule for chmod and chown (only the file's owner, or
/// root); here the cells are protfs's part alone: both need `owner`.
@Suite struct AccessMatrixUnitTests {
    static let ops = [
        "read", "write", "create", "rename", "rename-out", "rename-in", "delete", "relabel-up",
        "relabel-down", "setxattr", "removexattr", "chmod", "chown"
    ]

    /// folder, its label, the owner of its files, a higher and a lower label; then per user, one letter per
    /// operation in `ops` order: Y allowed, n refused, - not asked (no such label).
    static let grid:
        [(
            folder: String, label: String, owner: String, up: String?, down: String?,
            rows: [String: String]
        )] = [
            (
                "public", "public", "bob", "general", nil,
                [
                    "alice": "YYYYYYYn-YYnn", "bob": "YYYYYYYY-YYYY", "carol": "YYYYYYYn-YYnn",
                    "dave": "YYYYYYYn-YYnn", "root": "YYYYYYYn-YYnn"
                ]
            ),
            (
                "general", "general", "bob", "conf/fin", "public",
                [
                    "alice": "YYYYYYYnnYYnn", "bob": "YYYYYYYYYYYYY", "carol": "YYYYYYYnnYYnn",
                    "dave": "YYYYYYYnnYYnn", "root": "YYYYYYYnnYYnn"
                ]
            ),
            // conf/fin and conf/hr guard downgrades: without a justification even the owner is refused.
            (
                "finance", "conf/fin", "alice", "conf/hr", "general",
                [
                    "alice": "YYYYYYYYnYYYY", "bob": "nnnnnnnnnnnnn", "carol": "nnnnnnnnnnnnn",
                    "dave": "nnnnnnnnnnnnn", "root": "nnnnnnnnnnnnn"
                ]
            ),
            (
                "hr", "conf/hr", "carol", nil, "general",
                [
                    "alice": "nnnnnnn-nnnnn", "bob": "nnnnnnn-nnnnn", "carol": "YYYYYYY-nYYYY",
                    "dave": "nnnnnnn-nnnnn", "root": "nnnnnnn-nnnnn"
                ]
            )
        ]

    @Test func everyCellMatchesTheGrid() {
        let decider = Fixture.decider()
        var cells = 0, mismatches: [String] = []
        for f in Self.grid {
            let owner = Fixture.users[f.owner]!.uid
            for (user, row) in f.rows {
                let caller = Fixture.users[user]!
                for (op, want) in zip(Self.ops, row) where want != "-" {
                    let request = Self.request(op, caller, f.folder, f.label, owner: owner, up: f.up, down: f.down)
                    let decision = decider.decide(request)
                    cells += 1
                    let allowed = if case .success = decision { true } else { false }
                    if allowed != (want == "Y") {
                        mismatches.append("\(user) \(op) on \(f.label): expected \(want), got \(allowed ? "Y" : "n")")
                    }
                    if case .failure(let refused) = decision {
                        // Every refusal names the caller and the file, and says why.
                        #expect(refused.row.uid == Int64(caller.uid) && refused.row.path != nil)
                        #expect(refused.row.outcome == .denied && refused.row.detail?.contains("needs") == true)
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        #expect(cells == 250)
    }

    static func request(
        _ op: String, _ caller: Caller, _ folder: String, _ label: String, owner: UInt32,
        up: String?, down: String?
    ) -> AccessRequest {
        let file = Subject.file(Fixture.header(label, owner: owner))
        let path = Fixture.path("/\(folder)/m.txt")
        let other = folder == "public" ? "general" : "public"
        switch op {
        case "read": return AccessRequest(caller, .open(flags: O_RDONLY), on: file, path: path)
        case "write": return AccessRequest(caller, .open(flags: O_WRONLY | O_APPEND), on: file, path: path)
        case "create": return AccessRequest(caller, .create, path: Fixture.path("/\(folder)/new.txt"))
        case "rename":
            return AccessRequest(
                caller, .rename(replaced: nil, crossesFolders: false, exchange: false), on: file,
                path: path, newPath: Fixture.path("/\(folder)/m.txt.moved"))
        case "rename-out":
            return AccessRequest(
                caller, .rename(replaced: nil, crossesFolders: true, exchange: false), on: file,
                path: path, newPath: Fixture.path("/\(other)/out.txt"))
        case "rename-in":
            // The caller's own file from a folder where everyone may edit.
            let mine = Subject.file(Fixture.header(other, owner: caller.uid))
            return AccessRequest(
                caller, .rename(replaced: nil, crossesFolders: true, exchange: false), on: mine,
                path: Fixture.path("/\(other)/in.txt"), newPath: Fixture.path("/\(folder)/in.txt"))
        case "delete": return AccessRequest(caller, .unlink, on: file, path: path)
        case "relabel-up": return AccessRequest(caller, .relabel(to: up!, justification: nil), on: file, path: path)
        case "relabel-down":
            return AccessRequest(caller, .relabel(to: down!, justification: nil), on: file, path: path)
        case "setxattr": return AccessRequest(caller, .setxattr("user.y"), on: file, path: path)
        case "removexattr": return AccessRequest(caller, .removexattr("user.x"), on: file, path: path)
        case "chmod": return AccessRequest(caller, .setattr(AttributeChange(mode: 0o640)), on: file, path: path)
        case "chown": return AccessRequest(caller, .setattr(AttributeChange(uid: 2004)), on: file, path: path)
        default: fatalError(op)
        }
    }
}
