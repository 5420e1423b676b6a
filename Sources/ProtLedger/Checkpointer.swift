import Foundation
import ProtSystem
import Synchronization

/// On a connection of its own: moves committed rows from `events_recent` into the indexed `events` table
/// (index maintenance in bulk, off the appenders' path), and every second copies the WAL back into the
/// database (a PASSIVE checkpoint never blocks appenders). On close it moves what it can and truncates the WAL.
///
/// Moving a row into seven indexes costs about as much as appending it, needs the one write lock, and after
/// the kernel has dropped its cache reads index pages from the disk. So rows move only once appends have
/// paused for `quietPeriod`, and stop again when they resume; each chunk's index pages are read before the
/// write lock is taken, and the lock is the appenders' own `gate`, so an append that arrives during a move
/// waits for one short chunk and is then served at once (no SQLite busy-wait sleeps). A backlog past
/// `softCap` (a share that is never quiet) moves between appends all the same; past `backlogCap` the appender
/// moves chunks itself (`GroupCommitter.keepBacklogBounded`). Queries read both tables throughout.
///
/// Unchecked, for its SQLite connection and statements (not Sendable): only its own thread uses them.
final class Checkpointer: @unchecked Sendable {
    private let db: Database
    private let gate: PthreadMutex
    private let stopSignal = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Set by `stop` on the closing thread, read by the checkpointer's own.
    private let stopRequested = Atomic<Bool>(false)
    private var stopping: Bool { stopRequested.load(ordering: .acquiring) }
    private let recent: RecentRows
    private let warm: Statement

    static let quietPeriod: TimeInterval = 2
    static let softCap: Int64 = 200_000
    static let backlogCap: Int64 = 250_000
    static let chunk: Int64 = 1_024
    static let closeBudget: DispatchTimeInterval = .seconds(2)

    /// `committedRows` counts the rows this process has committed so far; `gate` is held by every write
    /// transaction of this process's appender.
    init(path: String, pageCacheMiB: Int, gate: PthreadMutex, committedRows: @escaping @Sendable () -> Int64) throws {
        db = try Database(path: path)
        self.gate = gate
        // The index pages a move touches: with SQLite's default 2 MB cache, a ledger of millions of rows
        // re-reads most of them for every chunk.
        try db.exec("PRAGMA cache_size=-\(pageCacheMiB * 1024)")
        recent = try RecentRows(db: db)
        // The path index is the one a move updates at random places: its leaves for the chunk's paths are read
        // here, outside the write lock, so the move itself finds them in memory.
        warm = try db.prepare(
            "SELECT count(*) FROM events WHERE path IN (SELECT path FROM events_recent WHERE seq <= ?)")
        let t = Thread { [unowned self] in
            nameThisThread("protfs-checkpt")
            var seen = committedRows()
            var lastActive = Date()
            while self.stopSignal.wait(timeout: .now() + 1) == .timedOut {
                let now = committedRows()
                if now != seen { seen = now; lastActive = Date() }
                let quiet = Date().timeIntervalSince(lastActive) >= Self.quietPeriod
                if quiet || self.backlog() > Self.softCap {
                    // Until appends resume (or, past the soft cap, until it is back under it).
                    self.moveRecentRows { !self.stopping && (committedRows() == now || self.backlog() > Self.softCap) }
                }
                try? self.db.exec("PRAGMA wal_checkpoint(PASSIVE)")
            }
            // Closing does not wait for a long backlog: the rows are committed and queryable where they are,
            // and the next writer to open the ledger moves them.
            let deadline = DispatchTime.now() + Self.closeBudget
            self.moveRecentRows { DispatchTime.now() < deadline }
            try? self.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
            self.finished.signal()
        }
        t.start()
    }

    /// Rows waiting in `events_recent`.
    private func backlog() -> Int64 { (try? recent.count()) ?? 0 }

    /// Moves the oldest rows in chunks while rows remain and `more()` says so.
    func moveRecentRows(while more: () -> Bool) {
        while more() {
            guard let low = try? recent.oldest() else { return }
            let upTo = low + Self.chunk - 1
            warm.reset(); warm.bind(1, upTo)
            _ = try? warm.step()
            warm.reset()
            let moved = gate.locked { () -> Bool in
                do {
                    try db.writeTransaction { () throws -> Void in
                        try recent.move(upTo: upTo)
                    }
                    return true
                } catch { return false }
            }
            if !moved { return }
        }
    }

    func stop() {
        if stopRequested.exchange(true, ordering: .acquiringAndReleasing) { return }
        stopSignal.signal()
        finished.wait()
    }
}
