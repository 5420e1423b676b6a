import Glibc
import ProtAccess
import ProtContainer
import ProtPolicy
import ProtSystem

/// The mount tests' policy (Tests/Fixtures/mount-policy.yaml) with groups by number, so no user or group has
/// to exist on the host: these tests run without root.
enum Fixture {
    static let policyText = """
        version: 1
        name: Access unit tests
        default_label: general
        labels:
          - { id: public, rank: 0, rights: { everyone: [view, edit, export], owner: co-owner } }
          - { id: general, rank: 10, rights: { everyone: reviewer, owner: co-owner } }
          - { id: temp, rank: 15, expiry: 2s, rights: { everyone: reviewer, owner: co-owner } }
          - { id: conf, rank: 20 }
          - id: conf/fin
            parent: conf
            rank: 21
            justify_downgrade: true
            rights: { "gid:3001": co-author, owner: co-owner, "gid:3003": audit }
          - id: conf/hr
            parent: conf
            rank: 22
            justify_downgrade: true
            rights: { "gid:3002": co-author, owner: co-owner }
        folders:
          - { path: /public/**, label: public }
          - { path: /finance/**, label: conf/fin }
          - { path: /hr/**, label: conf/hr }
          - { path: /expiring/**, label: temp }
        """

    static let policy: Policy = try! PolicyLoader.parse(yaml: policyText, file: "access-test.yaml").policy

    /// alice is in finance (3001), carol in hr (3002), dave an auditor (3003), bob in none; root is uid 0.
    static let users: [String: Caller] = [
        "alice": caller(2001, groups: [3001]), "bob": caller(2002), "carol": caller(2003, groups: [3002]),
        "dave": caller(2004, groups: [3003]), "root": caller(0)
    ]

    static func caller(_ uid: UInt32, groups: [UInt32] = []) -> Caller {
        Caller(
            uid: uid, gid: uid, pid: 4242, identity: Identity(uid: uid, gid: uid, groups: groups),
            processName: "test")
    }

    static func decider(_ mode: LedgerMode = .grants, revocations: Revocations = Revocations()) -> AccessDecider {
        AccessDecider(rules: AccessRules(policy: policy, revocations: revocations), mode: mode)
    }

    static func header(
        _ label: String, owner: UInt32, labeledAt: Int64 = currentTimeNanos(),
        expiry: Int64? = nil, grants: [Grant] = []
    ) -> HeaderFields {
        HeaderFields(
            fileId: [UInt8](repeating: 7, count: 16), labelId: label, labelKeyVersion: 1, ownerUid: owner,
            labeledAt: labeledAt, method: .folder, expiry: expiry, grants: grants)
    }

    static func path(_ s: String) -> [UInt8] { Array(s.utf8) }
}
