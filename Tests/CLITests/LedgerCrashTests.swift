import Foundation
import Testing

@Suite struct LedgerCrashTests {
    /// A writer killed with SIGKILL mid-stream: the chain still verifies and every append that returned is there.
    @Test func sigkillDuringAppendsLosesNoReturnedRow() throws {
        let s = Scratch()
        let ledger = s.path + "/ledger.db"
        for round in 0..<3 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["debug", "ledger-stream", ledger, "--threads", "4"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            var acknowledged: [Int64] = []
            var buffer = Data()
            let deadline = Date().addingTimeInterval(0.5 + Double(round) * 0.3)
            let fh = out.fileHandleForReading
            while Date() < deadline {
                let chunk = fh.availableData
                if chunk.isEmpty { break }
                buffer += chunk
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Only complete lines are acknowledgements.
            if let last = buffer.lastIndex(of: 0x0A) { buffer = buffer[...last] } else { buffer = Data() }
            acknowledged = String(decoding: buffer, as: UTF8.self).split(separator: "\n").compactMap { Int64($0) }
            #expect(acknowledged.count > 10, "round \(round): writer produced too little")
            let v = try CLI.run(["audit", "verify", s.path, "--ledger", ledger])
            #expect(v.status == 0, "round \(round): \(v.out)")
            let rows = try CLI.run(["audit", s.path, "--ledger", ledger, "--limit", "0", "--format", "csv"])
            let seqs = Set(
                rows.out.split(separator: "\r\n").dropFirst().compactMap { Int64($0.split(separator: ",")[0]) })
            let missing = acknowledged.filter { !seqs.contains($0) }
            #expect(missing.isEmpty, "round \(round): acknowledged but missing: \(missing.prefix(5))")
        }
    }

    @Test func verifyNamesTheEditedRowThroughTheCLI() throws {
        let s = Scratch()
        let (store, pw) = try makeStore(s)
        let plain = s.file("p", "x")
        for i in 0..<5 {
            _ = try CLI.run([
                "protect", plain, "--store", store, "--label", "general", "-o", store + "/f\(i)", "--passphrase-file",
                pw
            ])
        }
        let db = store + "/.protfs/ledger.db"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = ["-cmd", ".timeout 5000", db, "UPDATE events SET label='public' WHERE seq=4"]
        try p.run(); p.waitUntilExit()
        let r = try CLI.run(["audit", "verify", store])
        #expect(r.status == 1)
        #expect(r.out.contains("BROKEN at seq 4"), "\(r.out)")
    }
}
