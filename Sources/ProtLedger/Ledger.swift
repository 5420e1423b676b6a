import CSQLite
import Glibc

public enum LedgerError: Error, CustomStringConvertible {
    case malformedRow(Int64, String)
    case closed
    public var description: String {
        switch self {
        case .malformedRow(let seq, let why):
            return "ledger row \(seq) is malformed (\(why)); run 'protfs audit verify'"
        case .closed: return "ledger is closed"
        }
    }
}

/// The access ledger: one SQLite database in WAL mode, rows hash-chained, appends group-committed.
///
/// Unchecked: `db` is used by the writer's committer (under its commit turn) and for reads on the caller's
/// thread as SQLite's serialized mode allows; `committer` and `checkpointer` are set in init and cleared
/// only by `close`, after the mount's threads have stopped.
public final class Ledger: @unchecked Sendable {
    public let path: String
    let db: Database
    private var committer: GroupCommitter?
    private var checkpointer: Checkpointer?

    public enum Durability: String, Sendable {
        /// WAL commit without fsync: survives a crash of the daemon, may lose the last commits on power loss.
        case normal
        /// fsync on every group commit: survives power loss.
        case full
    }

    static let columns =
        "seq, ts, event, outcome, uid, user, gid, pid, process, path, new_path, label, prev_label, bytes_read, "
        + "bytes_written, detail, prev_hash, hash"

    /// `pageCacheMiB` bounds SQLite's page cache on each of the two writing connections (appends, and the
    /// checkpointer's index moves): a long-running mount keeps it small to stay within its memory budget,
    /// bulk loads and benchmarks keep more index pages at hand.
    public init(path: String, durability: Durability = .normal, readOnly: Bool = false, pageCacheMiB: Int = 64) throws {
        self.path = path
        db = try Database(path: path, readOnly: readOnly)
        if !readOnly {
            try Self.prepare(db)
            try db.exec("PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
            // Checkpoints (which fsync) run on a thread of their own, so appenders never wait for them.
            try db.exec("PRAGMA wal_autocheckpoint=0")
            // Each time the WAL starts over it is cut to nothing, so commits append past its end instead of
            // overwriting old frames: a partial-page overwrite of a WAL page the kernel has evicted reads it
            // from disk first, inside the commit an open is waiting for.
            try db.exec("PRAGMA journal_size_limit=0")
            // Index pages for the moves a long stream makes the writer do (see GroupCommitter.keepBacklogBounded).
            try db.exec("PRAGMA cache_size=-\(pageCacheMiB * 1024)")
            let committer = try GroupCommitter(db: db)
            self.committer = committer
            checkpointer = try Checkpointer(path: path, pageCacheMiB: pageCacheMiB, gate: committer.commitTurn) {
                [weak committer] in committer?.committedRows ?? 0
            }
        }
    }

    deinit { committer?.stop(); checkpointer?.stop() }

    /// Opens, creates the schema and closes without starting threads: a daemon checks its ledger before it
    /// forks, so a ledger it could not open fails the mount command instead of a detached daemon.
    public static func preflight(path: String) throws {
        try prepare(try Database(path: path, readOnly: false))
    }

    private static func prepare(_ db: Database) throws {
        try db.exec("PRAGMA journal_mode=WAL")
        try db.exec(schema)
    }

    /// Flushes pending appends and stops the writer; further appends fail.
    public func close() {
        committer?.stop(); committer = nil
        checkpointer?.stop(); checkpointer = nil
    }

    static let columnDefinitions = """
        seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, event TEXT NOT NULL, outcome TEXT NOT NULL,
        uid INTEGER, user TEXT, gid INTEGER, pid INTEGER, process TEXT,
        path BLOB, new_path BLOB, label TEXT, prev_label TEXT,
        bytes_read INTEGER, bytes_written INTEGER, detail TEXT,
        prev_hash BLOB NOT NULL, hash BLOB NOT NULL
        """

    /// Appends land in `events_recent`, which has no secondary index, so a commit writes few pages; the
    /// checkpointer moves them into the indexed `events` table in large batches. Readers see both.
    static let schema = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events(\(columnDefinitions));
        CREATE TABLE IF NOT EXISTS events_recent(\(columnDefinitions));
        CREATE VIEW IF NOT EXISTS all_events AS SELECT * FROM events UNION ALL SELECT * FROM events_recent;
        CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
        CREATE INDEX IF NOT EXISTS events_user_ts ON events(user, ts);
        CREATE INDEX IF NOT EXISTS events_uid_ts ON events(uid, ts);
        CREATE INDEX IF NOT EXISTS events_path ON events(path);
        CREATE INDEX IF NOT EXISTS events_label_ts ON events(label, ts);
        CREATE INDEX IF NOT EXISTS events_event_ts ON events(event, ts);
        CREATE INDEX IF NOT EXISTS events_outcome_ts ON events(outcome, ts);
        """

    /// Queues one row and returns at once; it is committed with the next batch, in order. For rows that
    /// gate no access (close with byte counts); a commit failure of such a row is not reported to the caller.
    public func appendLater(_ event: LedgerEvent) throws {
        guard let committer else { throw LedgerError.closed }
        try committer.enqueue(event)
    }

    /// Returns once every row queued so far (also by `appendLater`) is committed.
    public func flush() throws {
        guard let committer else { throw LedgerError.closed }
        try committer.flush()
    }

    /// Appends one row and returns its sequence number once the row is committed.
    /// Concurrent callers share one transaction; a full queue makes callers wait, it never drops rows.
    @discardableResult
    public func append(_ event: LedgerEvent) throws -> Int64 {
        guard let committer else { throw LedgerError.closed }
        return try committer.append(event)
    }

    /// Queues one row for the writer thread and returns at once; `wait` on the result returns once it is
    /// committed. For a caller with work of its own to do meanwhile (the commit and the work overlap).
    public func appendStarted(_ event: LedgerEvent) throws -> PendingAppend {
        guard let committer else { throw LedgerError.closed }
        return PendingAppend(committer: committer, ticket: try committer.start(event))
    }

    static func decode(_ st: Statement) throws -> LedgerEvent {
        let seq = st.int(0) ?? -1
        guard let kindText = st.text(2), let kind = EventKind(rawValue: kindText) else {
            throw LedgerError.malformedRow(seq, "unknown event")
        }
        guard let outText = st.text(3), let outcome = Outcome(rawValue: outText) else {
            throw LedgerError.malformedRow(seq, "unknown outcome")
        }
        var e = LedgerEvent(
            kind: kind, outcome: outcome, uid: st.int(4), user: st.text(5), gid: st.int(6), pid: st.int(7),
            process: st.text(8), path: st.blob(9), newPath: st.blob(10), label: st.text(11),
            previousLabel: st.text(12), bytesRead: st.int(13), bytesWritten: st.int(14), detail: st.text(15))
        e.seq = seq
        e.time = st.int(1) ?? 0
        e.prevHash = st.blob(16) ?? []
        e.hash = st.blob(17) ?? []
        return e
    }

    public var rowCount: Int64 {
        (try? { () throws -> Int64 in
            let st = try db.prepare("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM events_recent)")
            return try st.step() ? st.int(0) ?? 0 : 0
        }()) ?? 0
    }
}

/// A row handed to the writer thread whose commit has not been waited for yet.
public struct PendingAppend {
    let committer: GroupCommitter
    let ticket: GroupCommitter.Ticket
    /// Returns once the row is committed (its sequence number), or throws what the commit threw.
    public func wait() throws -> Int64 { try committer.awaitCommit(ticket) }
}
