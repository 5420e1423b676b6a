import ProtSystem
import Testing
import Foundation
@testable import ProtLedger

final class TempLedger {
    let dir: String
    var path: String { dir + "/ledger.db" }
    init() {
        var t = Array("/tmp/protfs-ledger-XXXXXX".utf8CString)
        dir = t.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }
}

func event(
    _ i: Int, user: String = "alice", path: String? = nil, kind: EventKind = .openRead, outcome: Outcome = .allowed
) -> LedgerEvent {
    LedgerEvent(
        kind: kind, outcome: outcome, uid: user == "alice" ? 1001 : 1002, user: user, gid: 100, pid: Int64(i),
        process: "cat", path: Array((path ?? "/f\(i % 7).txt").utf8),
        label: i % 2 == 0 ? "general" : "confidential/finance")
}

/// Runs the sqlite3 command-line tool, as an attacker with write access to the store would.
func sqlite3(_ db: String, _ sql: String) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    p.arguments = ["-cmd", ".timeout 10000", db, sql]
    let err = Pipe()
    p.standardError = err
    try p.run()
    p.waitUntilExit()
    let msg = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(
        p.terminationStatus == 0 && p.terminationReason == .exit,
        "sqlite3 \(sql): \(p.terminationReason == .exit ? "exit" : "signal") \(msg)")
}

@Suite struct LedgerTests {
    /// Write-behind rows are committed within the window without anyone asking, in order, with the times
    /// of their events; flush returns only when all of them are.
    @Test func writeBehindRowsCommitInOrderAndFlushWaitsForThem() throws {
        let t = TempLedger()
        let ledger = try Ledger(path: t.path)
        let before = currentTimeNanos()
        try ledger.appendLater(event(0))
        let reader = try Ledger(path: t.path, readOnly: true)
        var waited = 0
        while reader.rowCount == 0 && waited < 2000 { usleep(1000); waited += 1 }
        #expect(reader.rowCount == 1, "a lone write-behind row was not committed within 2 s")
        for i in 1..<3000 { try ledger.appendLater(event(i)) }
        try ledger.flush()
        #expect(reader.rowCount == 3000)
        let rows = try reader.query(LedgerFilter())
        #expect(rows.map(\.pid) == (0..<3000).map { Int64($0) })
        #expect(rows.first!.time >= before && rows.first!.time < before + 1_000_000_000)
        #expect(try reader.verify().isIntact)
    }

    @Test func sixteenConcurrentAppendersLoseNothing() async throws {
        let t = TempLedger()
        let ledger = try Ledger(path: t.path)
        let perThread = 500
        let seqs = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for th in 0..<16 {
                group.addTask {
                    try (0..<perThread).map { i in try ledger.append(event(th * perThread + i)) }
                }
            }
            var all: [Int64] = []
            for try await s in group { all += s }
            return all
        }
        #expect(Set(seqs).count == 16 * perThread)
        #expect(Set(seqs) == Set((1...Int64(16 * perThread))))
        ledger.close()
        let reopened = try Ledger(path: t.path)
        #expect(reopened.rowCount == Int64(16 * perThread))
        let v = try reopened.verify()
        #expect(v.isIntact, "\(v)")
        #expect(v.rowsChecked == Int64(16 * perThread))
    }

    /// Rows wait unindexed while appends keep coming (moving them would compete with the appenders for the
    /// write lock and the disk) and move into the indexed table once appends pause; queries see them throughout.
    @Test func rowsMoveIntoTheIndexedTableOnceAppendsPause() throws {
        let t = TempLedger()
        let ledger = try Ledger(path: t.path)
        let probe = try Database(path: t.path, readOnly: true)
        func unindexed() throws -> Int64 {
            let st = try probe.prepare("SELECT count(*) FROM events_recent")
            _ = try st.step()
            return st.int(0) ?? -1
        }
        for i in 0..<2000 { try ledger.appendLater(event(i)) }
        // Busy for three checkpointer ticks: one append every 50 ms.
        for i in 0..<60 { try ledger.append(event(2000 + i)); usleep(50_000) }
        #expect(try unindexed() == 2060, "rows were moved while appends streamed in")
        var waited = 0
        while try unindexed() > 0 && waited < 100 { usleep(100_000); waited += 1 }
        #expect(try unindexed() == 0, "rows still unindexed \(waited / 10) s after appends paused")
        let reader = try Ledger(path: t.path, readOnly: true)
        #expect(try reader.query(LedgerFilter()).count == 2060)
        #expect(try reader.verify().isIntact)
        try ledger.append(event(9999))
        #expect(reader.rowCount == 2061)
    }

    func ledgerWith(_ n: Int) throws -> TempLedger {
        let t = TempLedger()
        let l = try Ledger(path: t.path)
        for i in 0..<n { try l.append(event(i)) }
        l.close()
        return t
    }

    func verifyBrokenAt(_ t: TempLedger, _ seq: Int64) throws {
        let v = try Ledger(path: t.path).verify()
        #expect(v.firstBroken == seq, "expected break at \(seq): \(v)")
    }

    @Test func editedRowIsNamed() throws {
        let t = try ledgerWith(20)
        try sqlite3(t.path, "UPDATE events SET user='mallory' WHERE seq=7")
        try verifyBrokenAt(t, 7)
    }

    @Test func editedHashesRecomputedNaivelyAreNamed() throws {
        let t = try ledgerWith(20)
        try sqlite3(t.path, "UPDATE events SET outcome='allowed', hash=zeroblob(32) WHERE seq=12")
        try verifyBrokenAt(t, 12)
    }

    @Test func deletedRowsAreNamed() throws {
        let t = try ledgerWith(20)
        try sqlite3(t.path, "DELETE FROM events WHERE seq=5")
        try verifyBrokenAt(t, 5)
        let first = try ledgerWith(20)
        try sqlite3(first.path, "DELETE FROM events WHERE seq=1")
        try verifyBrokenAt(first, 1)
        let tail = try ledgerWith(20)
        try sqlite3(tail.path, "DELETE FROM events WHERE seq>=18")
        try verifyBrokenAt(tail, 18)
    }

    @Test func insertedRowsAreNamed() throws {
        let t = try ledgerWith(20)
        // Make room after row 9 and slip a row in, copying a neighbour's hashes.
        try sqlite3(
            t.path,
            "UPDATE events SET seq=seq+1000 WHERE seq>=10; UPDATE events SET seq=seq-999 WHERE seq>=1010; INSERT INTO events SELECT 10, ts, event, outcome, uid, user, gid, pid, process, path, new_path, label, prev_label, bytes_read, bytes_written, detail, prev_hash, hash FROM events WHERE seq=9"
        )
        try verifyBrokenAt(t, 10)
        let end = try ledgerWith(20)
        try sqlite3(
            end.path,
            "INSERT INTO events SELECT 21, ts, event, outcome, uid, user, gid, pid, process, path, new_path, label, prev_label, bytes_read, bytes_written, detail, hash, hash FROM events WHERE seq=20"
        )
        try verifyBrokenAt(end, 21)
    }

    @Test func reorderedRowsAreNamed() throws {
        let t = try ledgerWith(20)
        try sqlite3(
            t.path,
            "UPDATE events SET seq=-1 WHERE seq=14; UPDATE events SET seq=14 WHERE seq=15; UPDATE events SET seq=15 WHERE seq=-1"
        )
        try verifyBrokenAt(t, 14)
    }

    @Test func pruneKeepsTheChainVerifiable() throws {
        let t = try ledgerWith(30)
        let l = try Ledger(path: t.path)
        let cut = try l.query(LedgerFilter()).first { $0.seq == 11 }!.time
        let removed = try l.prune(before: cut, by: LedgerEvent(kind: .prune, outcome: .allowed, uid: 0, user: "root"))
        #expect(removed == 10)
        #expect(l.rowCount == 21)
        #expect(try l.verify().isIntact)
        try l.append(event(99))
        #expect(try l.verify().isIntact)
        l.close()
        try sqlite3(t.path, "DELETE FROM events WHERE seq=11")
        try verifyBrokenAt(t, 11)
    }

    @Test func filters() throws {
        let t = TempLedger()
        let l = try Ledger(path: t.path)
        for i in 0..<50 {
            try l.append(
                event(
                    i, user: i % 3 == 0 ? "bob" : "alice", path: i % 5 == 0 ? "/finance/q\(i).xlsx" : "/hr/r\(i).doc",
                    kind: i % 4 == 0 ? .deny : .openRead, outcome: i % 4 == 0 ? .denied : .allowed))
        }
        let mid = try l.query(LedgerFilter()).first { $0.seq == 25 }!.time
        var f = LedgerFilter()
        f.user = "bob"; #expect(try l.query(f).count == 17)
        f = LedgerFilter(); f.uid = 1001; #expect(try l.query(f).count == 33)
        f = LedgerFilter(); f.path = Array("/finance/".utf8); #expect(try l.query(f).count == 10)
        f = LedgerFilter(); f.path = Array("/hr/r1*.doc".utf8);
        #expect(try l.query(f).allSatisfy { $0.pathString!.hasPrefix("/hr/r1") })
        f = LedgerFilter(); f.label = "general"; #expect(try l.query(f).count == 25)
        f = LedgerFilter(); f.event = .deny; #expect(try l.query(f).count == 13)
        f = LedgerFilter(); f.deniedOnly = true; #expect(try l.query(f).count == 13)
        f = LedgerFilter(); f.since = mid; #expect(try l.query(f).map(\.seq) == Array(25...50))
        f = LedgerFilter(); f.until = mid; #expect(try l.query(f).map(\.seq) == Array(1...24))
        f = LedgerFilter(); f.limit = 5; #expect(try l.query(f).map(\.seq) == Array(46...50))
        f = LedgerFilter(); f.afterSeq = 47; #expect(try l.query(f).map(\.seq) == [48, 49, 50])
        let r = try l.report(since: nil)
        #expect(r.total == 50 && r.denied == 13)
        #expect(r.byUser.first { $0.0 == "bob" }?.1 == 17)
    }

    @Test func oddPathsRoundTripThroughJSONAndCSV() throws {
        let t = TempLedger()
        let l = try Ledger(path: t.path)
        let odd: [[UInt8]] = [
            Array("/a,b/\"quoted\".txt".utf8), Array("/line\nbreak\r\n.txt".utf8), [0x2F, 0xFF, 0xFE, 0x41, 0x80],
            Array("/ünïcødé/файл.txt".utf8), Array("/tab\there".utf8)
        ]
        for p in odd {
            try l.append(
                LedgerEvent(kind: .rename, outcome: .allowed, path: p, newPath: p + [0x21], detail: "x,\"y\"\nz"))
        }
        let rows = try l.query(LedgerFilter())
        // JSON Lines: one object per line, path_b64 where the bytes are not UTF-8.
        for (row, p) in zip(rows, odd) {
            let line = EventFormat.jsonLine(row)
            #expect(line.last == 0x0A && !line.dropLast().contains(0x0A))
            let obj = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
            let back =
                (obj["path_b64"] as? String).map { Array(Data(base64Encoded: $0)!) }
                ?? Array((obj["path"] as! String).utf8)
            #expect(back == p)
            let newBack =
                (obj["new_path_b64"] as? String).map { Array(Data(base64Encoded: $0)!) }
                ?? Array((obj["new_path"] as! String).utf8)
            #expect(newBack == p + [0x21])
            #expect(obj["detail"] as? String == "x,\"y\"\nz")
        }
        // CSV: parse the bytes back with an RFC 4180 reader.
        var csv = EventFormat.csvHeader()
        for r in rows { csv += EventFormat.csvRow(r) }
        let records = parseCSV(csv)
        #expect(records.count == odd.count + 1)
        let pathCol = EventFormat.csvColumns.firstIndex(of: "path")!
        for (rec, p) in zip(records.dropFirst(), odd) {
            #expect(rec[pathCol] == p)
            #expect(rec.count == EventFormat.csvColumns.count)
        }
        // The table never emits raw control bytes.
        let table = EventFormat.table(rows)
        #expect(!table.contains(0x0D) && !table.contains(0x1B))
        #expect(table.filter { $0 == 0x0A }.count == rows.count + 1)
    }
}

func parseCSV(_ bytes: [UInt8]) -> [[[UInt8]]] {
    var records: [[[UInt8]]] = [], record: [[UInt8]] = [], field: [UInt8] = []
    var i = 0, quoted = false
    while i < bytes.count {
        let b = bytes[i]
        if quoted {
            if b == 0x22 {
                if i + 1 < bytes.count && bytes[i + 1] == 0x22 { field.append(0x22); i += 1 } else { quoted = false }
            } else {
                field.append(b)
            }
        } else if b == 0x22 {
            quoted = true
        } else if b == 0x2C {
            record.append(field); field = []
        } else if b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A {
            record.append(field); records.append(record); record = []; field = []; i += 1
        } else {
            field.append(b)
        }
        i += 1
    }
    return records
}
