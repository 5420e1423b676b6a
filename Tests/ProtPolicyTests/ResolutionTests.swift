import Testing
import Foundation
@testable import ProtPolicy

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func policy(_ yaml: String) throws -> Policy { try PolicyLoader.parse(yaml: yaml, file: "test.yaml").policy }

let small = """
    version: 1
    default_label: general
    labels:
      - { id: public, rank: 0, rights: { everyone: viewer } }
      - { id: general, rank: 10, rights: { everyone: reviewer, owner: co-owner } }
      - { id: conf, rank: 20 }
      - id: conf/fin
        parent: conf
        rank: 21
        rights: { "gid:4242": co-author, "uid:0": audit }
      - id: conf/hr
        parent: conf
        rank: 22
        expiry: 30d
        rights: { "gid:4343": viewer, "uid:77": co-owner }
    folders:
      - { path: /finance/**, label: conf/fin }
      - { path: /finance/public, label: public }
      - { path: /hr/*/reviews, label: conf/hr }
      - { path: /hr/**, label: general }
    auto:
      - { detector: credit_card, min_count: 2, label: conf/fin }
      - { detector: us_ssn, label: conf/hr, folders: [/hr/**] }
    """

@Suite struct ResolutionTests {
    @Test func shippedPoliciesAreValid() throws {
        for f in ["Policies/default.yaml", "Policies/examples/research-lab.yaml"] {
            let (p, _) = try PolicyLoader.load(file: packageRoot + "/" + f)
            #expect(!p.labels.isEmpty)
        }
    }

    @Test func mostSpecificFolderRuleWinsAndSubfoldersInherit() throws {
        let p = try policy(small)
        #expect(p.folderLabel(for: "/readme.txt").label == "general")
        #expect(p.folderLabel(for: "/finance/q1.xlsx").label == "conf/fin")
        #expect(p.folderLabel(for: "/finance/2024/deep/q1.xlsx").label == "conf/fin")
        #expect(p.folderLabel(for: "/finance/public/press.txt").label == "public")
        #expect(p.folderLabel(for: "/finance/public/sub/press.txt").label == "public")
        #expect(p.folderLabel(for: "/hr/alice/reviews/2024.doc").label == "conf/hr")
        #expect(p.folderLabel(for: "/hr/alice/notes.doc").label == "general")
        #expect(p.folderLabel(for: "/financeX/a").label == "general")
    }

    @Test func highestRankOfFolderDetectorsAndExistingLabel() throws {
        let p = try policy(small)
        #expect(p.classify(path: "/a.txt", detectorCounts: ["credit_card": 1]).label == "general")  // below min_count
        let c = p.classify(path: "/a.txt", detectorCounts: ["credit_card": 2])
        #expect(c.label == "conf/fin" && c.raisedByDetector)
        #expect(p.classify(path: "/a.txt", detectorCounts: ["us_ssn": 5]).label == "general")  // rule limited to /hr
        #expect(p.classify(path: "/hr/x.txt", detectorCounts: ["us_ssn": 1, "credit_card": 9]).label == "conf/hr")
        // An existing higher label is kept: labels only go up automatically.
        #expect(p.classify(path: "/finance/public/x", detectorCounts: [:], existing: "conf/hr").label == "conf/hr")
        #expect(!p.classify(path: "/finance/public/x", detectorCounts: [:], existing: "conf/hr").raisedByDetector)
    }

    @Test func rightsThroughSupplementaryGroupsOwnerAndRoot() throws {
        let p = try policy(small)
        let alice = Identity(uid: 1001, gid: 1001, groups: [4242])
        let bob = Identity(uid: 1002, gid: 1002)
        let root = Identity(uid: 0, gid: 0)
        #expect(p.rights(of: alice, label: "conf/fin", fileOwner: 5) == [.view, .edit, .export, .share, .audit])
        #expect(p.rights(of: bob, label: "conf/fin", fileOwner: 5) == [])
        #expect(p.rights(of: root, label: "conf/fin", fileOwner: 5) == [.audit])  // root gets only what is granted
        #expect(p.rights(of: bob, label: "general", fileOwner: 1002) == .all)  // owner grantee
        #expect(p.rights(of: bob, label: "general", fileOwner: 1) == [.view, .edit, .share])
        // A primary gid counts as a group.
        #expect(p.rights(of: Identity(uid: 9, gid: 4242), label: "conf/fin", fileOwner: nil).contains(.view))
    }

    @Test func expiryLeavesOnlyOwners() throws {
        let p = try policy(small)
        let labeled: Int64 = 1_000_000_000_000_000_000
        let day: Int64 = 86_400_000_000_000
        let reader = Identity(uid: 5, gid: 4343), owner = Identity(uid: 77, gid: 77)
        #expect(
            p.rights(of: reader, label: "conf/hr", fileOwner: 1, labeledAt: labeled, now: labeled + 29 * day) == [.view]
        )
        #expect(p.rights(of: reader, label: "conf/hr", fileOwner: 1, labeledAt: labeled, now: labeled + 31 * day) == [])
        #expect(
            p.rights(of: owner, label: "conf/hr", fileOwner: 1, labeledAt: labeled, now: labeled + 31 * day) == .all)
    }

    @Test func downgradeJustificationAndApplicability() throws {
        let p = try PolicyLoader.load(file: packageRoot + "/Policies/default.yaml").policy
        #expect(p.needsJustification(from: "confidential/finance", to: "general"))
        #expect(!p.needsJustification(from: "general", to: "public"))
        #expect(!p.needsJustification(from: "general", to: "confidential/hr"))
        #expect(!p.isApplicable("confidential"))
        #expect(p.isApplicable("confidential/finance"))
        #expect(
            p.classify(path: "/finance/board/minutes.txt", detectorCounts: [:]).label == "highly-confidential/finance")
        #expect(
            p.classify(path: "/public/a.txt", detectorCounts: ["private_key": 1]).label
                == "highly-confidential/all-employees")
    }

    @Test func levelsMapToRights() {
        #expect(Rights.parse("viewer") == [.view])
        #expect(Rights.parse("Reviewer") == [.view, .edit, .share])
        #expect(Rights.parse("co-author") == [.view, .edit, .export, .share, .audit])
        #expect(Rights.parse("co-owner") == .all)
        #expect(Rights.parse("print") == nil)
    }
}
