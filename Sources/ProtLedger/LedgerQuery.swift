/// Filters of `protfs audit`. Times are nanoseconds since the epoch.
public struct LedgerFilter: Sendable {
    public var user: String?
    public var uid: Int64?
    /// A prefix, or a glob when it contains `*`, `?` or `[`.
    public var path: [UInt8]?
    public var label: String?
    public var event: EventKind?
    public var deniedOnly = false
    public var since: Int64?
    public var until: Int64?
    public var limit: Int?
    /// Only rows after this sequence number (for --follow).
    public var afterSeq: Int64?
    /// Only rows up to this sequence number (what a prune will delete).
    public var throughSeq: Int64?
    /// Only rows whose detail contains this text (a share id: `share=ID`).
    public var detailContains: String?
    /// Only rows whose path is one of these (for the `audit` right: the files a caller may see).
    public init() {}
}

extension Ledger {
    /// Matching rows in chronological order. With a limit, the newest `limit` rows.
    public func query(_ f: LedgerFilter) throws -> [LedgerEvent] {
        var clauses: [String] = [], binds: [(Statement, Int32) -> Void] = []
        func add(_ sql: String, _ b: @escaping (Statement, Int32) -> Void) { clauses.append(sql); binds.append(b) }
        if let u = f.user { add("user = ?") { $0.bind($1, u) } }
        if let u = f.uid { add("uid = ?") { $0.bind($1, u) } }
        if let l = f.label { add("label = ?") { $0.bind($1, l) } }
        if let e = f.event { add("event = ?") { $0.bind($1, e.rawValue) } }
        if f.deniedOnly { add("outcome = ?") { $0.bind($1, Outcome.denied.rawValue) } }
        if let s = f.since { add("ts >= ?") { $0.bind($1, s) } }
        if let u = f.until { add("ts < ?") { $0.bind($1, u) } }
        if let a = f.afterSeq { add("seq > ?") { $0.bind($1, a) } }
        if let t = f.throughSeq { add("seq <= ?") { $0.bind($1, t) } }
        if let d = f.detailContains { add("instr(detail, ?) > 0") { $0.bind($1, d) } }
        if let p = f.path {
            if p.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }) {
                add("CAST(path AS TEXT) GLOB CAST(? AS TEXT)") { $0.bind($1, blob: p) }
            } else if let upper = Self.prefixUpperBound(p) {
                add("path >= ?") { $0.bind($1, blob: p) }
                add("path < ?") { $0.bind($1, blob: upper) }
            } else {
                add("path >= ?") { $0.bind($1, blob: p) }
            }
        }
        let whereSQL = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let newestFirst = f.limit != nil && f.afterSeq == nil
        let order = " ORDER BY ts \(newestFirst ? "DESC" : "ASC"), seq \(newestFirst ? "DESC" : "ASC")"
        let limit = f.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        // Each table is filtered (and limited) on its own so the indexed one can use its indexes.
        let sql =
            "SELECT * FROM (SELECT \(Ledger.columns) FROM events\(whereSQL)\(order)\(limit)) UNION ALL "
            + "SELECT * FROM (SELECT \(Ledger.columns) FROM events_recent\(whereSQL)\(order)\(limit))\(order)\(limit)"
        let st = try db.prepare(sql)
        for (i, b) in binds.enumerated() {
            b(st, Int32(i + 1))
            b(st, Int32(i + 1 + binds.count))
        }
        var rows: [LedgerEvent] = []
        while try st.step() { rows.append(try Ledger.decode(st)) }
        return newestFirst ? rows.reversed() : rows
    }

    /// The smallest byte string greater than every string with this prefix, or nil if there is none.
    static func prefixUpperBound(_ p: [UInt8]) -> [UInt8]? {
        var u = p
        while let last = u.last {
            if last < 0xFF { u[u.count - 1] = last + 1; return u }
            u.removeLast()
        }
        return nil
    }

    public var lastSeq: Int64 { (try? Ledger.headIn(db).seq) ?? 0 }
}

/// `protfs report`: what happened, by label, user and event; who was refused; the busiest files.
public struct LedgerReport: Sendable {
    public var total: Int64 = 0
    public var denied: Int64 = 0
    public var byLabel: [(String, Int64)] = []
    public var byUser: [(String, Int64)] = []
    public var byEvent: [(String, Int64)] = []
    public var deniedByUser: [(String, Int64)] = []
    public var topFiles: [([UInt8], Int64)] = []
}

extension Ledger {
    public func report(since: Int64?, top: Int = 10) throws -> LedgerReport {
        let w = since == nil ? "" : " WHERE ts >= \(since!)"
        let and = since == nil ? " WHERE" : " AND"
        func pairs(_ sql: String) throws -> [(String, Int64)] {
            let st = try db.prepare(sql)
            var out: [(String, Int64)] = []
            while try st.step() { out.append((st.text(0) ?? "-", st.int(1) ?? 0)) }
            return out
        }
        func count(_ sql: String) throws -> Int64 {
            let st = try db.prepare(sql); return try st.step() ? st.int(0) ?? 0 : 0
        }
        var r = LedgerReport()
        r.total = try count("SELECT count(*) FROM all_events\(w)")
        r.denied = try count("SELECT count(*) FROM all_events\(w)\(and) outcome = 'denied'")
        r.byLabel = try pairs("SELECT label, count(*) c FROM all_events\(w) GROUP BY label ORDER BY c DESC")
        r.byUser = try pairs(
            "SELECT coalesce(user, 'uid ' || uid), count(*) c FROM all_events\(w) GROUP BY 1 ORDER BY c DESC")
        r.byEvent = try pairs("SELECT event, count(*) c FROM all_events\(w) GROUP BY event ORDER BY c DESC")
        r.deniedByUser = try pairs(
            "SELECT coalesce(user, 'uid ' || uid), count(*) c FROM all_events\(w)\(and) outcome = 'denied' GROUP BY "
                + "1 ORDER BY c DESC"
        )
        let st = try db.prepare(
            "SELECT path, count(*) c FROM all_events\(w)\(and) path IS NOT NULL GROUP BY path ORDER BY c DESC LIMIT "
                + "\(top)"
        )
        while try st.step() { r.topFiles.append((st.blob(0) ?? [], st.int(1) ?? 0)) }
        return r
    }
}
