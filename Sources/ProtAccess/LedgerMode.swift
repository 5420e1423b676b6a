import ProtLedger

/// Which operations wait for their ledger row to be committed before the kernel gets an answer.
public enum LedgerMode: String, Sendable, CaseIterable {
    /// Every row that grants access to content (open for reading or writing, create) is committed first:
    /// no access is granted before its row is committed. Other rows (close, rename, unlink, setattr,
    /// refusals...) are committed in order within the 10 ms write-behind window.
    case grants
    /// Every row is committed before its operation is answered.
    case sync
    /// Every row goes through the write-behind window (fastest; a crash of the daemon loses at most the
    /// last window's rows).
    case writeBehind = "write-behind"

    public func waits(for e: LedgerEvent) -> Bool {
        switch self {
        case .sync: return true
        case .writeBehind: return false
        case .grants: return e.outcome == .allowed && (e.kind == .openRead || e.kind == .openWrite || e.kind == .create)
        }
    }
}
