/// The rows appended to `events_recent` and not yet moved into the indexed `events` table, and the move
/// itself, on one connection: for the checkpointer, and for an appender past the backlog cap.
final class RecentRows {
    private let oldestRow: Statement
    private let newestRow: Statement
    private let move: Statement
    private let drop: Statement

    init(db: Database) throws {
        // One aggregate per query: SQLite answers a lone min() or max() of the key from the B-tree's edge,
        // but `SELECT min(seq), max(seq)` scans every row.
        oldestRow = try db.prepare("SELECT min(seq) FROM events_recent")
        newestRow = try db.prepare("SELECT max(seq) FROM events_recent")
        move = try db.prepare("INSERT INTO events SELECT * FROM events_recent WHERE seq <= ?")
        drop = try db.prepare("DELETE FROM events_recent WHERE seq <= ?")
    }

    /// The lowest waiting seq, or nil when none waits.
    func oldest() throws -> Int64? { try edge(oldestRow) }

    /// How many rows wait.
    func count() throws -> Int64 {
        guard let low = try edge(oldestRow), let high = try edge(newestRow) else { return 0 }
        return high - low + 1
    }

    /// Moves the waiting rows up to `seq` into the indexed table (in the caller's transaction).
    func move(upTo seq: Int64) throws {
        for st in [move, drop] { st.reset(); st.bind(1, seq); try st.run() }
    }

    private func edge(_ st: Statement) throws -> Int64? {
        st.reset()
        defer { st.reset() }
        return try st.step() ? st.int(0) : nil
    }
}
