import Testing
import Foundation
@testable import ProtPolicy

/// Each malformed policy is refused with the position of the problem, as `FILE:LINE:COL: message`.
@Suite struct MalformedPolicyTests {
    static let fixtures = packageRoot + "/Tests/Fixtures/bad-policies"

    /// Each fixture's first line says what it must produce: `# expect: LINE:COL: message`.
    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter { $0.hasSuffix(".yaml") }
            .sorted()
    }

    static func expectation(_ file: String) throws -> (position: String, message: String) {
        let text = try String(contentsOfFile: fixtures + "/" + file, encoding: .utf8)
        let first = text.split(separator: "\n", maxSplits: 1)[0].dropFirst("# expect: ".count)
        let parts = first.split(separator: ":", maxSplits: 2)
        return ("\(parts[0]):\(parts[1])", String(parts[2].dropFirst()))
    }

    @Test func atLeastFifteenFixtures() { #expect(Self.cases.count >= 15) }

    @Test(arguments: cases)
    func refusedWithPosition(_ name: String) throws {
        let (position, message) = try Self.expectation(name)
        let path = Self.fixtures + "/" + name
        do {
            _ = try PolicyLoader.load(file: path)
            Issue.record("\(name): accepted")
        } catch let e as PolicyError {
            let first = e.diagnostics[0]
            #expect("\(first.line):\(first.column)" == position, "\(name): \(e)")
            #expect(first.description.hasPrefix("\(path):\(position): "), "\(name)")
            #expect(first.message.contains(message), "\(name): \(e)")
        }
    }

    static let header =
        "version: 1\nlabels:\n  - { id: public, rank: 0 }\n  - { id: conf, rank: 20 }\n  - { id: conf/fin, parent: conf, rank: 21 }\n"

    @Test func validPolicyWithEveryFeatureIsAccepted() throws {
        let yaml =
            Self.header + """
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
