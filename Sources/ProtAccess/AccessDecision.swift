import ProtLedger
import ProtPolicy

/// An operation allowed: the rights the caller holds and the row to commit before it is done. Nothing
/// that grants access discards one: the committing call returns what the caller must act on.
public struct Allowed: Sendable {
    public let rights: Rights
    /// Nil when there is nothing to record (reading an attribute, a relabel to the label a file has).
    public let row: LedgerEvent?
    /// Whether the operation must wait for the row's commit before it is answered (the ledger mode's rule).
    public let waits: Bool
}

/// An operation refused: the errno for the caller and the row that says why.
public struct Refused: Error, Sendable {
    public let errno: Int32
    public let row: LedgerEvent
}

public typealias AccessDecision = Result<Allowed, Refused>
