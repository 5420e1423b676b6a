import Foundation

/// Every second, on a connection of its own: moves committed rows from `events_recent` into the indexed
/// `events` table in batches (index maintenance in bulk, off the appenders' path), then copies the WAL back
/// into the database (a PASSIVE checkpoint never blocks appenders). On close it moves everything and
/// truncates the WAL.
final class Checkpointer: @unchecked Sendable {
    private let db: Database
    private let stopSignal = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(path: String) throws {
        db = try Database(path: path)
        let t = Thread { [unowned self] in
            while self.stopSignal.wait(timeout: .now() + 1) == .timedOut {
                self.moveRecentRows()
                try? self.db.exec("PRAGMA wal_checkpoint(PASSIVE)")
            }
            self.moveRecentRows()
            try? self.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
            self.finished.signal()
        }
        t.name = "protfs-ledger-checkpoint"
        t.start()
    }

    /// Moves rows in chunks so appenders wait at most one chunk's transaction.
    func moveRecentRows() {
        while (try? db.writeTransaction({ () throws -> Bool in
            let st = try db.prepare("SELECT max(seq) FROM (SELECT seq FROM events_recent ORDER BY seq LIMIT 8192)")
            guard try st.step(), let upTo = st.int(0) else { return false }
            try db.exec("INSERT INTO events SELECT * FROM events_recent WHERE seq <= \(upTo); DELETE FROM events_recent WHERE seq <= \(upTo)")
            return true
        })) == true {}
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        stopSignal.signal()
        finished.wait()
    }
}
