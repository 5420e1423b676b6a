import Foundation
import ProtCrypto

/// The result of walking the chain: the first broken link, if any, by sequence number.
public struct ChainVerification: Sendable {
    public var rowsChecked: Int64
    public var firstBroken: Int64?
    public var reason: String?
    public var isIntact: Bool { firstBroken == nil }
}

extension Ledger {
    /// Walks every row in sequence order, recomputing each hash and link, then checks the recorded head
    /// and the prune anchor. Reports the first broken link: an edited, deleted, inserted or reordered row.
    public func verify() throws -> ChainVerification {
        let anchor = try pruneAnchor()
        var expected = (anchor?.seq ?? 0) + 1
        var prev = anchor?.hash ?? ChainHash.genesis
        var checked: Int64 = 0
        var lastPrune: (seq: Int64, hash: [UInt8])?
        func broken(_ seq: Int64, _ why: String) -> ChainVerification {
            ChainVerification(rowsChecked: checked, firstBroken: seq, reason: why)
        }
        let st = try db.prepare(
            "SELECT \(Ledger.columns) FROM events UNION ALL SELECT \(Ledger.columns) FROM events_recent ORDER BY seq")
        while try st.step() {
            let seq = st.int(0) ?? -1
            if seq != expected {
                return broken(
                    expected, seq > expected ? "row \(expected) is missing (deleted)" : "unexpected row \(seq)")
            }
            let e: LedgerEvent
            do { e = try Ledger.decode(st) } catch { return broken(seq, "\(error)") }
            guard ConstantTime.equal(e.prevHash, prev) else {
                return broken(seq, "prev_hash does not link to row \(seq - 1) (row inserted, removed or reordered)")
            }
            guard ConstantTime.equal(ChainHash.hash(e, prev: prev), e.hash) else {
                return broken(seq, "row content does not match its hash (edited)")
            }
            if e.kind == .prune, let a = Self.parsePruneDetail(e.detail) { lastPrune = a }
            prev = e.hash
            expected += 1
            checked += 1
        }
        let head = try Ledger.headIn(db)
        if head.seq > expected - 1 {
            return broken(expected, "rows \(expected)...\(head.seq) are missing (deleted from the end)")
        }
        if head.seq < expected - 1 {
            return broken(head.seq + 1, "rows after \(head.seq) were not written by protfs (inserted)")
        }
        if head.seq > 0 && !ConstantTime.equal(head.hash, prev) {
            return broken(head.seq, "last row does not match the recorded head (edited)")
        }
        if let p = lastPrune, anchor == nil || anchor!.seq != p.seq || anchor!.hash != p.hash {
            return broken((anchor?.seq ?? 0) + 1, "prune anchor does not match the last prune row")
        }
        if anchor != nil && lastPrune == nil { return broken(anchor!.seq + 1, "prune anchor without a prune row") }
        return ChainVerification(rowsChecked: checked, firstBroken: nil, reason: nil)
    }

    func pruneAnchor() throws -> (seq: Int64, hash: [UInt8])? {
        let st = try db.prepare("SELECT key, value FROM meta WHERE key IN ('anchor_seq', 'anchor_hash')")
        var seq: Int64?, hash: [UInt8]?
        while try st.step() {
            if st.text(0) == "anchor_seq" { seq = st.int(1) } else { hash = st.blob(1) }
        }
        guard let seq, let hash else { return nil }
        return (seq, hash)
    }

    static func pruneDetail(seq: Int64, hash: [UInt8]) -> String {
        "pruned through seq \(seq); anchor hash \(Hex.encode(hash))"
    }

    static func parsePruneDetail(_ d: String?) -> (seq: Int64, hash: [UInt8])? {
        guard let d, d.hasPrefix("pruned through seq ") else { return nil }
        let parts = d.dropFirst("pruned through seq ".count).split(separator: ";")
        guard parts.count == 2, let seq = Int64(parts[0]),
            let hash = Hex.decode(String(parts[1].dropFirst(" anchor hash ".count)))
        else { return nil }
        return (seq, hash)
    }

    /// The newest row older than `before` (ns): a prune with that `before` deletes it and every row before it.
    public func pruneCutoff(before: Int64) throws -> (seq: Int64, rows: Int64)? {
        let st = try db.prepare("SELECT seq FROM all_events WHERE ts < ? ORDER BY seq DESC LIMIT 1")
        st.bind(1, before)
        guard try st.step(), let seq = st.int(0) else { return nil }
        let c = try db.prepare("SELECT count(*) FROM all_events WHERE seq <= ?")
        c.bind(1, seq)
        return (seq, try c.step() ? c.int(0) ?? 0 : 0)
    }

    /// Deletes rows older than `before` (ns). The chain stays verifiable: the hash of the last removed row is kept
    /// as an anchor, both in `meta` and in a `prune` row appended to the chain in the same transaction.
    @discardableResult
    public func prune(before: Int64, by actor: LedgerEvent) throws -> Int64 {
        // A connection of its own: the appender thread owns the transactions of the shared one.
        let conn = try Database(path: path)
        return try conn.writeTransaction {
            let st = try conn.prepare("SELECT seq, hash FROM all_events WHERE ts < ? ORDER BY seq DESC LIMIT 1")
            st.bind(1, before)
            guard try st.step(), let seq = st.int(0), let hash = st.blob(1) else { return 0 }
            let c = try conn.prepare("SELECT count(*) FROM all_events WHERE seq <= ?")
            c.bind(1, seq)
            let removed = try c.step() ? c.int(0) ?? 0 : 0
            for table in ["events", "events_recent"] {
                let del = try conn.prepare("DELETE FROM \(table) WHERE seq <= ?"); del.bind(1, seq); try del.run()
            }
            let setMeta = try conn.prepare(Ledger.setMetaSQL)
            setMeta.bind(1, "anchor_seq"); setMeta.bind(2, seq); try setMeta.run()
            setMeta.reset(); setMeta.bind(1, "anchor_hash"); setMeta.bind(2, blob: hash); try setMeta.run()
            var row = actor
            row.kind = .prune
            row.detail = Self.pruneDetail(seq: seq, hash: hash)
            _ = try Ledger.writeRows(
                [row], db: conn, insert: try conn.prepare(Ledger.insertSQL), setMeta: setMeta, lastTime: 0
            ) { _, _ in }
            return removed
        }
    }
}

extension Ledger {
    /// Appends many rows in one transaction on a connection of its own, straight into the indexed table
    /// (bulk loads and benchmarks).
    public func appendBatch(_ events: [LedgerEvent]) throws {
        let conn = try Database(path: path)
        try conn.writeTransaction {
            let insert = try conn.prepare(
                Ledger.insertSQL.replacingOccurrences(of: "INTO events_recent(", with: "INTO events("))
            _ = try Ledger.writeRows(
                events, db: conn, insert: insert,
                setMeta: try conn.prepare(Ledger.setMetaSQL), lastTime: 0
            ) { _, _ in }
        }
    }
}
