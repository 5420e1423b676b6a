import Foundation
import Testing

/// Every kept fuzzing input (seeds, and crashers once fixed) replayed through the harness built plainly:
/// a parser regression shows up in the normal suite, not only when someone runs scripts/fuzz.sh.
@Suite struct FuzzReplayTests {
    @Test(arguments: ["header", "policy", "detectors", "share"])
    func keptInputsDoNotCrash(_ target: String) throws {
        let harness = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().appendingPathComponent("protfs-fuzz")
            .path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: harness)
        let fuzz = CLI.packageRoot + "/Tests/Fuzz"
        p.arguments = [target, "\(fuzz)/Corpus/\(target)", "\(fuzz)/Crashers/\(target)"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && text.contains("no crash"), "\(text)")
        #expect(!text.contains("replayed 0 inputs"), "no inputs found for \(target)")
    }
}
