import Foundation

/// Every second, on a connection of its own: moves committed rows from `events_recent` into the indexed
/// `events` table in chunks (index maintenance in bulk, off the appenders' path), then copies the WAL back
/// into the database (a PASSIVE checkpoint never blocks appenders). On close it moves everything and
/// truncates the WAL.
///
/// While appends stream in (at least `busyRows` in the last second) it does not move: moving a row into
/// seven indexes costs about as much as appending it, and both need the one write lock, so moving during a
/// burst would halve the burst. Past `backlogCap` rows the appender moves chunks itself
/// (`GroupCommitter.keepBacklogBounded`), so a sustained stream runs at what index maintenance allows and
/// queries never scan more than the cap unindexed; queries read both tables throughout.
final class Checkpointer: @unchecked Sendable {
    private let db: Database
    private let stopSignal = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopLock = NSLock()
    private var stopRequested = false
    private var stopping: Bool { stopLock.lock(); defer { stopLock.unlock() }; return stopRequested }

    static let busyRows: Int64 = 2_000
    static let backlogCap: Int64 = 250_000
    static let chunk = 4_096
    static let closeBudget: DispatchTimeInterval = .seconds(2)

    /// `committedRows` counts the rows this process has committed so far.
    init(path: String, pageCacheMiB: Int, committedRows: @escaping @Sendable () -> Int64) throws {
        db = try Database(path: path)
        // The index pages a move touches: with SQLite's default 2 MB cache, a ledger of millions of rows
        // re-reads most of them for every chunk.
        try db.exec("PRAGMA cache_size=-\(pageCacheMiB * 1024)")
        let t = Thread { [unowned self] in
            var seen = committedRows()
            while self.stopSignal.wait(timeout: .now() + 1) == .timedOut {
                let now = committedRows()
                if now - seen < Self.busyRows {
                    // Until appends pick up again (or the ledger closes).
                    self.moveRecentRows { !self.stopping && committedRows() - now < Self.busyRows }
                }
                seen = committedRows()
                try? self.db.exec("PRAGMA wal_checkpoint(PASSIVE)")
            }
            // Closing does not wait for a long backlog: the rows are committed and queryable where they are,
            // and the next writer to open the ledger moves them.
            let deadline = DispatchTime.now() + Self.closeBudget
            self.moveRecentRows { DispatchTime.now() < deadline }
            try? self.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
            self.finished.signal()
        }
        t.name = "protfs-ledger-checkpoint"
        t.start()
    }

    /// Moves the oldest rows in chunks, so appenders wait at most one chunk's transaction, while rows remain
    /// and `more()` says so.
    func moveRecentRows(while more: () -> Bool) {
        while more(), (try? db.writeTransaction({ () throws -> Bool in
            let span = try db.prepare("SELECT min(seq) FROM events_recent")
            guard try span.step(), let low = span.int(0) else { return false }
            let upTo = low + Int64(Self.chunk) - 1
            try db.exec("INSERT INTO events SELECT * FROM events_recent WHERE seq <= \(upTo); DELETE FROM events_recent WHERE seq <= \(upTo)")
            return true
        })) == true {}
    }

    func stop() {
        stopLock.lock()
        let already = stopRequested
        stopRequested = true
        stopLock.unlock()
        if already { return }
        stopSignal.signal()
        finished.wait()
    }
}
