import CSQLite
import Foundation
import ProtCrypto

/// Batches concurrent appends into one transaction on a dedicated writer thread. Each caller returns only
/// when its own row is committed, so "no access is granted before its row is committed" costs one commit
/// per batch, not per access.
final class GroupCommitter: @unchecked Sendable {
    final class Ticket {
        let event: LedgerEvent
        var seq: Int64 = 0
        var error: Error?
        var done = false
        init(_ e: LedgerEvent) { event = e }
    }

    static let capacity = 8192
    static let maxBatch = 4096

    private let db: Database
    private let cond = NSCondition()
    private var queue: [Ticket] = []
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private let insert: Statement
    private let setMeta: Statement
    private var lastTime: Int64 = 0

    init(db: Database) throws {
        self.db = db
        insert = try db.prepare(Ledger.insertSQL)
        setMeta = try db.prepare(Ledger.setMetaSQL)
        let t = Thread { [unowned self] in self.run() }
        t.name = "protfs-ledger"
        thread = t
        t.start()
    }

    func append(_ e: LedgerEvent) throws -> Int64 {
        let t = Ticket(e)
        cond.lock()
        while queue.count >= Self.capacity && !stopping { cond.wait() }
        if stopping { cond.unlock(); throw LedgerError.closed }
        queue.append(t)
        cond.broadcast()
        while !t.done { cond.wait() }
        cond.unlock()
        if let err = t.error { throw err }
        return t.seq
    }

    func stop() {
        cond.lock()
        if stopping { cond.unlock(); return }
        stopping = true
        cond.broadcast()
        cond.unlock()
        finished.wait()
    }

    private func run() {
        while true {
            cond.lock()
            while queue.isEmpty && !stopping { cond.wait() }
            if queue.isEmpty && stopping { cond.unlock(); break }
            let batch = Array(queue.prefix(Self.maxBatch))
            queue.removeFirst(batch.count)
            cond.broadcast()
            cond.unlock()

            let err = commit(batch)
            cond.lock()
            for t in batch { t.error = err; t.done = true }
            cond.broadcast()
            cond.unlock()
        }
        finished.signal()
    }

    private func commit(_ batch: [Ticket]) -> Error? {
        do {
            // IMMEDIATE takes the write lock before reading the head, so other processes appending to the
            // same ledger (the CLI beside a mount) extend the chain instead of forking it.
            try db.exec("BEGIN IMMEDIATE")
            do {
                lastTime = try Ledger.writeRows(batch.map(\.event), db: db, insert: insert, setMeta: setMeta, lastTime: lastTime) { i, seq in
                    batch[i].seq = seq
                }
                try db.exec("COMMIT")
            } catch {
                try? db.exec("ROLLBACK")
                throw error
            }
            return nil
        } catch { return error }
    }

}

extension Ledger {
    static func headIn(_ db: Database) throws -> (seq: Int64, hash: [UInt8], time: Int64) {
        let st = try db.prepare("SELECT key, value FROM meta WHERE key IN ('head_seq', 'head_hash', 'head_time')")
        var seq: Int64 = 0, hash = ChainHash.genesis, time: Int64 = 0
        while try st.step() {
            switch st.text(0) {
            case "head_seq": seq = st.int(1) ?? 0
            case "head_hash": hash = st.blob(1) ?? ChainHash.genesis
            case "head_time": time = st.int(1) ?? 0
            default: break
            }
        }
        return (seq, hash, time)
    }

    /// Appends rows after the current head inside the caller's transaction, updating the head in `meta`.
    /// Times never go backwards, so time order and sequence order agree. Returns the last time used.
    static func writeRows(_ events: [LedgerEvent], db: Database, insert: Statement, setMeta: Statement, lastTime: Int64,
                          assigned: (Int, Int64) -> Void) throws -> Int64 {
        let head = try headIn(db)
        var seq = head.seq, prev = head.hash, time = max(lastTime, head.time)
        for (i, event) in events.enumerated() {
            var e = event
            seq += 1
            time = max(time, currentTimeNanos())
            e.seq = seq; e.time = time; e.prevHash = prev
            e.hash = ChainHash.hash(e, prev: prev)
            insert.reset()
            insert.bind(1, e.seq); insert.bind(2, e.time); insert.bind(3, e.kind.rawValue); insert.bind(4, e.outcome.rawValue)
            insert.bind(5, e.uid); insert.bind(6, e.user); insert.bind(7, e.gid); insert.bind(8, e.pid); insert.bind(9, e.process)
            insert.bind(10, blob: e.path); insert.bind(11, blob: e.newPath); insert.bind(12, e.label); insert.bind(13, e.previousLabel)
            insert.bind(14, e.bytesRead); insert.bind(15, e.bytesWritten); insert.bind(16, e.detail)
            insert.bind(17, blob: e.prevHash); insert.bind(18, blob: e.hash)
            try insert.run()
            prev = e.hash
            assigned(i, seq)
        }
        func put(_ key: String, _ bind: (Statement) -> Void) throws { setMeta.reset(); setMeta.bind(1, key); bind(setMeta); try setMeta.run() }
        try put("head_seq") { $0.bind(2, seq) }
        try put("head_hash") { $0.bind(2, blob: prev) }
        try put("head_time") { $0.bind(2, time) }
        return time
    }

    static let insertSQL = "INSERT INTO events(\(Ledger.columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    static let setMetaSQL = "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"
}

func currentTimeNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
