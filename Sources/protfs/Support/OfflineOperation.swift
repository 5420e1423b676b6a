import ProtLedger
import ProtStore

extension CredentialOptions {
    /// The administrator's offline paths (protect, unprotect): unlocks the store and runs `body`, which
    /// returns its ledger row and the line to print; a failure is recorded as the row `failed` makes of it,
    /// then rethrown.
    func recorded(
        _ store: String, failed: (Error) -> LedgerEvent, _ body: (Store) throws -> (row: LedgerEvent, line: String)
    ) throws {
        let s = try unlock(store)
        let ledger = try s.openLedger()
        defer { ledger.close() }
        do {
            let (row, line) = try body(s)
            try ledger.append(row)
            Out.line(line)
        } catch {
            _ = try? ledger.append(failed(error))
            throw error
        }
    }
}
