import Foundation

/// The outcome of the last `protfs audit verify`, kept beside the ledger (`ledger.db.verified`) so that
/// `protfs status` can say when the chain was last checked. Informational: it proves nothing by itself.
public struct VerificationRecord: Codable, Sendable {
    public var time: String
    public var rows: Int64
    public var intact: Bool
    public var firstBroken: Int64?

    public init(time: String, rows: Int64, intact: Bool, firstBroken: Int64?) {
        self.time = time; self.rows = rows; self.intact = intact; self.firstBroken = firstBroken
    }

    public static func path(forLedger ledger: String) -> String { ledger + ".verified" }

    public static func load(forLedger ledger: String) -> VerificationRecord? {
        guard let d = FileManager.default.contents(atPath: path(forLedger: ledger)) else { return nil }
        return try? JSONDecoder().decode(VerificationRecord.self, from: d)
    }

    public func save(forLedger ledger: String) {
        guard let d = try? JSONEncoder().encode(self) else { return }
        try? d.write(to: URL(fileURLWithPath: Self.path(forLedger: ledger)), options: .atomic)
    }
}
