import Dispatch
import ProtLedger
import ProtPolicy
import ProtSystem
import Synchronization

/// Repeated identical refusals become one row and a count. One process looping on a file it may not open
/// added about 15,000 rows a second, enough to bury every other row and fill the disk under the ledger. The
/// first refusal of a kind (same user, operation, paths, label and reason) is logged at once; the same one
/// again within a second is only counted, and the count is logged as one row when that second is over.
final class RefusalCoalescer: Sendable {
    struct Key: Hashable {
        let uid: Int64?, kind: EventKind, path: [UInt8]?, newPath: [UInt8]?, label: String?, detail: String?
        init(_ e: LedgerEvent) {
            uid = e.uid; kind = e.kind; path = e.path; newPath = e.newPath; label = e.label; detail = e.detail
        }
    }
    struct Window {
        var start: Int64
        var repeats: Int
        var last: LedgerEvent
        /// Who the repeats came from, so a decoy process cannot hide another's refusals under its name.
        var pids: [Int64] = []
        var morePids = 0
    }
    static let pidsNamed = 8

    static let window: Int64 = 1_000_000_000
    /// Past this many distinct refusals in one second, every count is written out and the table starts over.
    static let capacity = 4096

    private let windows = Mutex<[Key: Window]>([:])
    private let emit: @Sendable (LedgerEvent) -> Void
    /// DispatchSourceTimer is not Sendable; it is only resumed here and cancelled by `stop`.
    private let timer: Mutex<DispatchSourceTimer>

    /// `emit` writes a row; it is called for first refusals and for counts, never under the table's lock.
    init(emit: @escaping @Sendable (LedgerEvent) -> Void) {
        self.emit = emit
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "protfs-refusals"))
        timer = Mutex(source)
        timer.withLock { t in
            t.schedule(deadline: .now() + .seconds(1), repeating: .seconds(1))
            t.setEventHandler { [weak self] in self?.flush(olderThan: Self.window) }
            t.resume()
        }
    }

    /// True when `e` should be written now; false when it was counted into a window already open.
    func admit(_ e: LedgerEvent, now: Int64) -> Bool {
        let key = Key(e)
        let (admit, due) = windows.withLock { table -> (Bool, [LedgerEvent]) in
            if var w = table[key], now - w.start < Self.window {
                w.repeats += 1
                w.last = e
                if let pid = e.pid, !w.pids.contains(pid) {
                    if w.pids.count < Self.pidsNamed { w.pids.append(pid) } else { w.morePids += 1 }
                }
                table[key] = w
                return (false, [])
            }
            var due: [LedgerEvent] = []
            if let w = table[key], w.repeats > 0 { due.append(Self.countRow(w)) }
            if table.count >= Self.capacity {
                due += table.values.filter { $0.repeats > 0 }.map(Self.countRow)
                table.removeAll(keepingCapacity: true)
            }
            table[key] = Window(start: now, repeats: 0, last: e)
            return (true, due)
        }
        for row in due { emit(row) }
        return admit
    }

    /// Writes the counts of windows older than `age` (all of them with 0, at unmount).
    func flush(olderThan age: Int64 = 0) {
        let now = currentTimeNanos()
        let due = windows.withLock { table -> [LedgerEvent] in
            let old = table.filter { now - $0.value.start >= age }
            for k in old.keys { table[k] = nil }
            return old.values.filter { $0.repeats > 0 }.map(Self.countRow)
        }
        for row in due { emit(row) }
    }

    func stop() {
        timer.withLock { $0.cancel() }
        flush()
    }

    /// The row for a window's repeats: the last of them, its reason followed by how many were not logged.
    static func countRow(_ w: Window) -> LedgerEvent {
        var row = w.last
        row.time = 0
        let from = w.pids.map(String.init).joined(separator: ", ") + (w.morePids > 0 ? " and others" : "")
        row.detail =
            (row.detail.map { $0 + "; " } ?? "") + "repeated \(w.repeats) more times within 1 s"
            + (from.isEmpty ? "" : " by pids \(from)")
        return row
    }
}
