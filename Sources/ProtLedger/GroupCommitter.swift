import CSQLite
import Foundation
import ProtSystem
import Synchronization

/// Batches appends into one transaction on a dedicated writer thread. `append` returns only when its own
/// row is committed (one commit per batch of concurrent callers); a caller that finds nobody committing and
/// no company expected commits on its own thread, saving the two thread hand-offs a lone appender would
/// otherwise wait for. `enqueue` returns at once: its rows wait
/// at most `writeBehind` for company, so a stream of single operations costs one commit per window instead
/// of one per row. A failed commit keeps the queued rows and retries; until one succeeds every call throws,
/// so the mount fails closed instead of going on unrecorded.
///
/// Unchecked, for its SQLite connection and statements (not Sendable): they are used only by whoever holds
/// `commitTurn`. Its queue and flags are owned by `state`; `lastTime` and `lastBatch` by `commitTurn`.
final class GroupCommitter: @unchecked Sendable {
    /// Unchecked: `event`, `isBarrier`, `waits` and `leads` are set before the ticket is queued (under the
    /// queue's lock); `seq`, `error`, `next` and `next2` by the committer before it signals `committed`, and
    /// read by the caller only after waiting on it (the semaphore orders the two).
    final class Ticket: @unchecked Sendable {
        var event: LedgerEvent
        /// A flush marker: committed with the rows before it, writes nothing itself.
        var isBarrier = false
        var seq: Int64 = 0
        var error: Error?
        /// Each caller sleeps on its own semaphore, so a commit wakes exactly the callers it served.
        let committed = DispatchSemaphore(value: 0)
        /// Callers of the same batch woken by this caller, not by the writer, so the writer thread (the
        /// bottleneck) spends one wake-up per batch instead of one per row; a binary tree, so the last caller of
        /// a batch of 16 is four wake-ups from the commit instead of sixteen.
        var next: Ticket?
        var next2: Ticket?
        var waits = true
        /// Whether its caller may commit the batch itself (`lead`) rather than wait for the writer thread.
        var leads = true
        init(_ e: LedgerEvent) { event = e }
    }

    static let capacity = 8192
    static let maxBatch = 4096
    /// How long queued rows may wait for a commit when no caller is waiting for one.
    static let writeBehind: DispatchTimeInterval = .milliseconds(10)
    static let retryDelay: useconds_t = 100_000
    /// Rows an over-long backlog moves per crossing (see `keepBacklogBounded`).
    static let inlineChunk: Int64 = 4_096

    private let db: Database
    /// What appenders and committers share.
    private struct Queue {
        var tickets: [Ticket] = []
        var waitersQueued = 0
        var failure: Error?
        var stopping = false
        /// Rows committed by this writer so far (the checkpointer's measure of load).
        var committed: Int64 = 0
        /// Whether the last batch served a single waiting caller: then a waiting caller leads.
        var alone = true
    }
    private let state = Mutex(Queue())
    private let work = DispatchSemaphore(value: 0)
    /// Callers waiting for room when the queue is full.
    private let room = NSCondition()
    private let finished = DispatchSemaphore(value: 0)
    private let insert: Statement
    private let setMeta: Statement
    /// Prepared once: `exec` would parse them again for every batch.
    private let begin: Statement
    private let commitStatement: Statement
    private let recent: RecentRows
    private var lastTime: Int64 = 0
    /// Held by whoever writes a batch (the writer thread or a leading caller), and by the checkpointer's
    /// moves: one transaction at a time, and a writer that finds it taken waits without SQLite's busy sleeps.
    let commitTurn = PthreadMutex()
    var committedRows: Int64 { state.withLock { $0.committed } }

    init(db: Database) throws {
        self.db = db
        insert = try db.prepare(Ledger.insertSQL)
        setMeta = try db.prepare(Ledger.setMetaSQL)
        begin = try db.prepare("BEGIN IMMEDIATE")
        commitStatement = try db.prepare("COMMIT")
        recent = try RecentRows(db: db)
        let t = Thread { [unowned self] in
            nameThisThread("protfs-ledger"); self.run()
        }
        t.start()
    }

    /// Queues a row without waiting for its commit; throws while commits are failing.
    func enqueue(_ e: LedgerEvent) throws {
        let t = Ticket(e)
        t.waits = false
        _ = try submit(t)
    }

    /// Returns once every row queued before the call is committed.
    func flush() throws {
        let t = Ticket(LedgerEvent(kind: .close, outcome: .allowed))
        t.isBarrier = true
        _ = try append(t)
    }

    func append(_ e: LedgerEvent) throws -> Int64 { try append(Ticket(e)) }

    /// Queues a waiting row for the writer thread without leading: the caller works while it is committed.
    func start(_ e: LedgerEvent) throws -> Ticket {
        let t = Ticket(e)
        t.leads = false
        return try submit(t)
    }

    /// Waits for a submitted ticket's commit, then wakes the callers of its batch it is to wake.
    func awaitCommit(_ t: Ticket) throws -> Int64 {
        t.committed.wait()
        t.next?.committed.signal()
        t.next2?.committed.signal()
        if let err = t.error { throw err }
        return t.seq
    }

    private func append(_ ticket: Ticket) throws -> Int64 {
        let t = try submit(ticket)
        if t.leads { lead() }
        return try awaitCommit(t)
    }

    private func submit(_ t: Ticket) throws -> Ticket {
        enum Admission { case queued(wasEmpty: Bool), full, refused(Error) }
        room.lock()
        var wasEmpty = false
        admit: while true {
            let admission = state.withLock { q -> Admission in
                if q.stopping { return .refused(LedgerError.closed) }
                // While commits fail, a row nobody waits for is refused (its operation must not go on
                // unrecorded); a waiting row is taken, and its commit is the retry: it gets the error if that
                // fails too. Refusing those as well left a ledger whose last failed batch had only waiting
                // rows with nothing to retry, failing after the disk had room again (1 run in 2 of the
                // full-disk test once it also tried mkdir, symlink, link and setxattr).
                if let failure = q.failure, !t.isBarrier, !t.waits { return .refused(failure) }
                guard q.tickets.count < Self.capacity else { return .full }
                let wasEmpty = q.tickets.isEmpty
                if t.event.time == 0 { t.event.time = currentTimeNanos() }  // the event's time, not its commit's
                q.tickets.append(t)
                if t.waits { q.waitersQueued += 1 }
                if t.isBarrier || !t.waits || !q.alone { t.leads = false }
                return .queued(wasEmpty: wasEmpty)
            }
            switch admission {
            case .queued(let empty): wasEmpty = empty; break admit
            case .full: room.wait()
            case .refused(let error): room.unlock(); throw error
            }
        }
        room.unlock()
        let leads = t.leads
        // A waiting caller cuts the write-behind window short (unless it commits the batch itself).
        if (wasEmpty || t.waits) && !leads { work.signal() }
        return t
    }

    /// Commits what is queued on the calling thread, if nobody else is committing and the last batch had a
    /// single caller. The caller's own row is in that batch unless another committer took it first; either
    /// way its ticket is signalled like any other.
    private func lead() {
        let solo = state.withLock { $0.alone }
        guard solo, commitTurn.tryLock() else { work.signal(); return }
        let (batch, err) = commitNextBatch(linger: false)
        commitTurn.unlock()
        finish(batch, err)
        if state.withLock({ !$0.tickets.isEmpty }) { work.signal() }
    }

    func stop() {
        let already = state.withLock { q -> Bool in
            defer { q.stopping = true }
            return q.stopping
        }
        if already { return }
        work.signal()
        finished.wait()
    }

    /// How many waiting callers the previous batch served: a sign of how many appenders are active
    /// (write-behind rows do not count: nobody waits for them).
    private var lastBatch = 1
    /// How long a batch stays open for the callers of the previous batch to come back.
    static let linger: Int64 = 300_000

    private func run() {
        while true {
            work.wait()
            while true {
                lingerForCompany()
                let (empty, done) = state.withLock { ($0.tickets.isEmpty, $0.stopping) }
                if empty {
                    if done { finished.signal(); return }
                    break
                }
                commitTurn.lock()
                let (batch, err) = commitNextBatch(linger: true)
                commitTurn.unlock()
                finish(batch, err)
            }
        }
    }

    /// Records a batch's outcome and wakes its waiting callers.
    private func finish(_ batch: [Ticket], _ err: Error?) {
        guard !batch.isEmpty || err != nil else { return }
        state.withLock { q in
            q.failure = err
            if err == nil { q.committed += Int64(batch.count) }
            if err != nil && !q.stopping {
                // Rows nobody waits for are kept, in order, for the retry.
                q.tickets.insert(contentsOf: batch.filter { !$0.waits && !$0.isBarrier }, at: 0)
            }
        }
        if err != nil { usleep(Self.retryDelay) }
        // Only callers that wait are woken; rows queued without waiting need no wake-up.
        let waiting = batch.filter(\.waits)
        for (i, t) in waiting.enumerated() {
            t.error = err
            t.next = 2 * i + 1 < waiting.count ? waiting[2 * i + 1] : nil
            t.next2 = 2 * i + 2 < waiting.count ? waiting[2 * i + 2] : nil
        }
        waiting.first?.committed.signal()
    }

    /// One transaction: writes what is queued, and while fewer waiting callers are in it than in the previous
    /// batch, waits briefly for the others, writing each row as it arrives. So the rows of a batch are hashed
    /// and inserted while its last callers are still waking up from the previous commit (group commit
    /// without an idle delay); a lone appender never waits.
    private func commitNextBatch(linger: Bool) -> ([Ticket], Error?) {
        var batch: [Ticket] = []
        var served = 0
        let target = linger ? lastBatch : 1
        if state.withLock({ $0.tickets.isEmpty }) { return ([], nil) }
        do {
            // The head is read inside the write transaction, so other processes appending to the same
            // ledger (the CLI beside a mount) extend the chain instead of forking it.
            begin.reset()
            try begin.run()
            var rows = try Ledger.RowWriter(db: db, insert: insert, lastTime: lastTime)
            let deadline = currentTimeNanos() + Self.linger
            while true {
                let space = Self.maxBatch - batch.count
                let (take, waiters) = state.withLock { q -> ([Ticket], Int) in
                    let take = Array(q.tickets.prefix(space))
                    q.tickets.removeFirst(take.count)
                    let waiters = take.reduce(0) { $0 + ($1.waits ? 1 : 0) }
                    q.waitersQueued -= waiters
                    return (take, waiters)
                }
                if !take.isEmpty { room.lock(); room.broadcast(); room.unlock() }
                served += waiters
                for t in take where !t.isBarrier { t.seq = try rows.write(t.event) }
                batch += take
                if served == 0 || served >= target || batch.count >= Self.maxBatch || currentTimeNanos() >= deadline {
                    break
                }
                _ = work.wait(timeout: .now() + .microseconds(50))
            }
            try keepBacklogBounded(head: rows.seq)
            lastTime = try rows.finish(setMeta: setMeta)
            commitStatement.reset()
            try commitStatement.run()
            lastBatch = max(served, lastBatch - 1)
            let alone = lastBatch <= 1
            state.withLock { $0.alone = alone }
            return (batch, nil)
        } catch {
            try? db.exec("ROLLBACK")
            return (batch, error)
        }
    }

    /// Beyond `Checkpointer.backlogCap` unindexed rows (a stream the checkpointer cannot keep up with while it
    /// defers to appends), the batch that crosses the next chunk boundary also moves one chunk into the indexed
    /// table in its transaction: appends slow to what index maintenance sustains instead of leaving queries an
    /// ever longer scan. (Moving a few rows with every batch costs several times more per row.)
    private func keepBacklogBounded(head: Int64) throws {
        guard let low = try recent.oldest(), head - low + 1 > Checkpointer.backlogCap + Self.inlineChunk else { return }
        try recent.move(upTo: low + Self.inlineChunk - 1)
    }

    /// While only write-behind rows are queued, wait (up to `writeBehind`) for more to share their commit.
    private func lingerForCompany() {
        let deadline = DispatchTime.now() + Self.writeBehind
        while true {
            let idle = state.withLock { q in
                q.tickets.isEmpty || q.waitersQueued > 0 || q.stopping || q.tickets.count >= Self.maxBatch
            }
            if idle || work.wait(timeout: deadline) == .timedOut { return }
        }
    }

}

extension Ledger {
    /// The head (newest seq, its hash, its time) lives in one `meta` row updated with every commit.
    static func headIn(_ db: Database) throws -> (seq: Int64, hash: [UInt8], time: Int64) {
        let st = try db.cached("SELECT value FROM meta WHERE key = 'head'")
        defer { st.reset() }
        guard try st.step(), let v = st.blob(0), v.count == 48 else { return (0, ChainHash.genesis, 0) }
        func int(_ at: Int) -> Int64 { v[at..<(at + 8)].reduce(0) { $0 << 8 | Int64($1) } }
        return (int(0), Array(v[16..<48]), int(8))
    }

    static func headValue(seq: Int64, time: Int64, hash: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for v in [seq, time] {
            for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> Int64(s))) }
        }
        return out + hash
    }

    /// Appends rows after the current head inside the caller's transaction, updating the head in `meta`.
    /// Times never go backwards, so time order and sequence order agree. Returns the last time used.
    static func writeRows(
        _ events: [LedgerEvent], db: Database, insert: Statement, setMeta: Statement, lastTime: Int64,
        assigned: (Int, Int64) -> Void
    ) throws -> Int64 {
        var rows = try RowWriter(db: db, insert: insert, lastTime: lastTime)
        for (i, event) in events.enumerated() { assigned(i, try rows.write(event)) }
        return try rows.finish(setMeta: setMeta)
    }

    /// Chains rows onto the head read when it is made; `finish` stores the new head. Inside one transaction.
    struct RowWriter {
        let insert: Statement
        var seq: Int64, prev: [UInt8], time: Int64

        init(db: Database, insert: Statement, lastTime: Int64) throws {
            let head = try headIn(db)
            self.insert = insert
            seq = head.seq; prev = head.hash; time = max(lastTime, head.time)
        }

        mutating func write(_ event: LedgerEvent) throws -> Int64 {
            var e = event
            seq += 1
            time = max(time, e.time > 0 ? e.time : currentTimeNanos())
            e.seq = seq; e.time = time; e.prevHash = prev
            e.hash = ChainHash.hash(e, prev: prev)
            insert.reset()
            insert.bind(1, e.seq); insert.bind(2, e.time); insert.bind(3, e.kind.rawValue);
            insert.bind(4, e.outcome.rawValue)
            insert.bind(5, e.uid); insert.bind(6, e.user); insert.bind(7, e.gid); insert.bind(8, e.pid);
            insert.bind(9, e.process)
            insert.bind(10, blob: e.path); insert.bind(11, blob: e.newPath); insert.bind(12, e.label);
            insert.bind(13, e.previousLabel)
            insert.bind(14, e.bytesRead); insert.bind(15, e.bytesWritten); insert.bind(16, e.detail)
            insert.bind(17, blob: e.prevHash); insert.bind(18, blob: e.hash)
            try insert.run()
            prev = e.hash
            return seq
        }

        func finish(setMeta: Statement) throws -> Int64 {
            setMeta.reset()
            setMeta.bind(1, "head")
            setMeta.bind(2, blob: headValue(seq: seq, time: time, hash: prev))
            try setMeta.run()
            return time
        }
    }

    static let insertSQL = "INSERT INTO events_recent(\(Ledger.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    static let setMetaSQL = "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"
}
