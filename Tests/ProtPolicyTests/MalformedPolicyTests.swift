import Testing
@testable import ProtPolicy

/// Each malformed policy is refused with the position of the problem, as `FILE:LINE:COL: message`.
@Suite struct MalformedPolicyTests {
    static let header = "version: 1\nlabels:\n  - { id: public, rank: 0 }\n  - { id: conf, rank: 20 }\n  - { id: conf/fin, parent: conf, rank: 21 }\n"

    static let cases: [(name: String, yaml: String, position: String, message: String)] = [
        ("empty label list", "version: 1\nlabels: []\n", "2:9", "empty label list"),
        ("no labels field", "version: 1\nname: x\n", "1:1", "empty label list"),
        ("duplicate id", header + "  - { id: public, rank: 1 }\n", "6:11", "duplicate label id 'public'"),
        ("unknown parent", header + "  - { id: x, parent: nope, rank: 1 }\n", "6:11", "unknown parent label 'nope'"),
        ("parent cycle", "version: 1\nlabels:\n  - { id: a, parent: b, rank: 0 }\n  - { id: b, parent: a, rank: 1 }\n", "3:11", "parent cycle"),
        ("unknown right", header + "  - id: x\n    rank: 3\n    rights: { everyone: [view, print] }\n", "8:32", "unknown right 'print'"),
        ("unknown grantee", header + "  - id: x\n    rank: 3\n    rights: { team:blue: viewer }\n", "8:15", "unknown grantee 'team:blue'"),
        ("unknown label in folder rule", header + "folders:\n  - { path: /a/**, label: secret }\n", "7:27", "unknown label 'secret'"),
        ("parent label applied", header + "folders:\n  - { path: /a/**, label: conf }\n", "7:27", "has sub-labels"),
        ("same pattern twice", header + "folders:\n  - { path: /a/**, label: public }\n  - { path: /a/**, label: conf/fin }\n", "8:13", "same pattern '/a/**'"),
        ("bad duration", header + "  - { id: x, rank: 3, expiry: 12 parsecs }\n", "6:31", "bad duration or date '12 parsecs'"),
        ("bad date", header + "  - { id: x, rank: 3, expiry: 2027-13-45 }\n", "6:31", "bad duration or date '2027-13-45'"),
        ("unknown detector", header + "auto:\n  - { detector: dna_sequence, label: conf/fin }\n", "7:17", "unknown detector 'dna_sequence'"),
        ("unknown field", header + "  - { id: x, rank: 3, colour: red }\n", "6:23", "unknown field 'colour'"),
        ("rank not an integer", header + "  - { id: x, rank: high }\n", "6:20", "field 'rank' must be an integer"),
        ("min_count zero", header + "auto:\n  - { detector: iban, min_count: 0, label: conf/fin }\n", "7:34", "min_count must be at least 1"),
        ("bad regex", header + "detectors:\n  - { id: r, type: regex, pattern: 'a(b' }\n", "7:36", "invalid regular expression"),
        ("bad pattern", header + "folders:\n  - { path: finance/**, label: public }\n", "7:13", "bad folder pattern"),
        ("unsupported version", "version: 7\nlabels:\n  - { id: a, rank: 0 }\n", "1:10", "unsupported policy version 7"),
        ("yaml syntax", "version: 1\nlabels:\n  - { id: a, rank: 0\n", "4:1", "YAML syntax"),
        ("unknown default label", header + "default_label: nope\n", "6:16", "default_label: unknown label 'nope'"),
    ]

    @Test(arguments: cases.map(\.name))
    func refusedWithPosition(_ name: String) throws {
        let c = Self.cases.first { $0.name == name }!
        do {
            _ = try PolicyLoader.parse(yaml: c.yaml, file: "bad.yaml")
            Issue.record("\(name): accepted")
        } catch let e as PolicyError {
            let first = e.diagnostics[0]
            #expect("\(first.line):\(first.column)" == c.position, "\(name): \(e)")
            #expect(first.description.hasPrefix("bad.yaml:\(c.position): "), "\(name)")
            #expect(first.message.contains(c.message), "\(name): \(e)")
        }
    }

    @Test func validPolicyWithEveryFeatureIsAccepted() throws {
        let yaml = Self.header + """
          - id: x
            rank: 3
            justify_downgrade: true
            expiry: 2027-01-31
            description: everything at once
            rights: { everyone: viewer, owner: [co-owner], "uid:0": audit, "gid:10": [view, edit], "user:root": export, "group:root": share }
        default_label: conf/fin
        folders:
          - { path: /, label: public }
          - { path: /a/*/b, label: x }
        detectors:
          - { id: kw, type: keywords, keywords: [one, two words] }
          - { id: re, type: regex, pattern: 'Z[0-9]+', max_length: 20 }
        auto:
          - { detector: kw, label: x, folders: /a/** }
          - { detector: re, min_count: 3, label: conf/fin }

        """
        let (p, warnings) = try PolicyLoader.parse(yaml: yaml, file: "ok.yaml")
        #expect(warnings.isEmpty)
        #expect(p.labels.count == 4 && p.autoRules.count == 2 && p.customDetectors.count == 2)
    }
}
