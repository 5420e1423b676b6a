import ArgumentParser
import Foundation
import ProtContainer
import ProtLedger
import ProtPolicy

/// Hidden helpers the test suite drives as a separate process (so it can be killed mid-stream).
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Test helpers.", shouldDisplay: false,
        subcommands: [LedgerStream.self, SignKeyRequest.self])

    struct LedgerStream: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger-stream",
            abstract: "Append rows from several threads forever, printing each sequence number once committed.")
        @Argument var ledger: String
        @Option var threads: Int = 4

        func run() throws {
            let l = try Ledger(path: ledger)
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var i = 0
                while true {
                    guard
                        let seq = try? l.append(
                            LedgerEvent(
                                kind: .openRead, outcome: .allowed, uid: Int64(t),
                                pid: Int64(i), process: "stream",
                                path: Array("/f\(t)/\(i)".utf8)))
                    else { return }
                    lock.lock(); Out.line("\(seq)"); lock.unlock()
                    i += 1
                }
            }
        }
    }
}
