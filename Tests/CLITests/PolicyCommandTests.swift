import Foundation
import Testing

@Suite struct PolicyCommandTests {
    static let fixtures = CLI.packageRoot + "/Tests/Fixtures/bad-policies"

    @Test func everyMalformedPolicyExitsTwoWithFileLineColumn() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures).filter { $0.hasSuffix(".yaml") }
            .sorted()
        #expect(files.count >= 15)
        for f in files {
            let path = Self.fixtures + "/" + f
            let expect = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")[0].dropFirst(
                "# expect: ".count)
            let parts = expect.split(separator: ":", maxSplits: 2)
            let r = try CLI.run(["policy", "check", path])
            #expect(r.status == 2, "\(f)")
            let first = r.err.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.hasPrefix("\(path):\(parts[0]):\(parts[1]): "), "\(f): \(r.err)")
            #expect(first.contains(parts[2].dropFirst()), "\(f): \(r.err)")
        }
    }

    @Test func shippedPoliciesCheckClean() throws {
        for f in ["Policies/default.yaml", "Policies/examples/research-lab.yaml"] {
            let r = try CLI.run(["policy", "check", f])
            #expect(r.status == 0, "\(f): \(r.err)")
            #expect(r.out.contains("folders:") && r.out.contains("auto-classification:"))
        }
    }

    @Test func explainShowsLabelReasonAndRights() throws {
        let s = Scratch()
        let content = s.file("c.txt", "ssn 123-45-6789 and card 4111111111111111\n")
        var r = try CLI.run([
            "policy", "explain", "Policies/default.yaml", "/finance/q3.txt", "--content", content, "--uid", "1500",
            "--gid", "1500"
        ])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("label:   confidential/hr"), "\(r.out)")
        #expect(r.out.contains("rule /finance/**"))
        #expect(r.out.contains("detected: us_ssn x1"))
        #expect(r.out.contains("rights:  none (as the file's creator: view,edit,export,share,owner,audit)"), "\(r.out)")
        r = try CLI.run(["policy", "explain", "Policies/default.yaml", "/public/readme.md", "--uid", "1500"])
        #expect(r.out.contains("label:   public") && r.out.contains("rights:  view,edit,export,share "), "\(r.out)")
    }
}
