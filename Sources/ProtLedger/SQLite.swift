import CSQLite

/// A minimal, boring wrapper over the SQLite C API: prepared statements, typed binds, errors with messages.
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
}

/// SQLITE_TRANSIENT is a macro Swift cannot import.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class Database {
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]

    init(path: String, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(path): \(msg)")
        }
        handle = db
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// A prepared statement kept for the life of the connection (hot paths: the appender, the head).
    /// Callers on one connection are serialized by the ledger, so a cached statement is never shared.
    func cached(_ sql: String) throws -> Statement {
        if let s = statements[sql] { s.reset(); return s }
        let s = try prepare(sql)
        statements[sql] = s
        return s
    }

    func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error"
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    func prepare(_ sql: String) throws -> Statement { try Statement(db: self, sql: sql) }

    /// Runs `body` in a write transaction taken up front (BEGIN IMMEDIATE: other writers, in this process or
    /// another, wait instead of forking the chain): committed if `body` returns, rolled back if it throws.
    func writeTransaction<R>(_ body: () throws -> R) throws -> R {
        try exec("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    var lastError: SQLiteError {
        SQLiteError(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }
}

final class Statement {
    let stmt: OpaquePointer
    unowned let db: Database

    init(db: Database, sql: String) throws {
        var s: OpaquePointer?
        guard sqlite3_prepare_v2(db.handle, sql, -1, &s, nil) == SQLITE_OK, let s else { throw db.lastError }
        stmt = s
        self.db = db
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() { sqlite3_reset(stmt); sqlite3_clear_bindings(stmt) }

    func bind(_ i: Int32, _ v: Int64?) {
        if let v { sqlite3_bind_int64(stmt, i, v) } else { sqlite3_bind_null(stmt, i) }
    }

    func bind(_ i: Int32, _ v: String?) {
        if let v { sqlite3_bind_text(stmt, i, v, -1, sqliteTransient) } else { sqlite3_bind_null(stmt, i) }
    }

    func bind(_ i: Int32, blob v: [UInt8]?) {
        guard let v else { sqlite3_bind_null(stmt, i); return }
        _ = v.withUnsafeBytes {
            sqlite3_bind_blob(
                stmt, i, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(v.count), sqliteTransient)
        }
    }

    /// Steps once: true when a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw db.lastError
    }

    func run() throws { while try step() {} }

    func isNull(_ c: Int32) -> Bool { sqlite3_column_type(stmt, c) == SQLITE_NULL }
    func int(_ c: Int32) -> Int64? { isNull(c) ? nil : sqlite3_column_int64(stmt, c) }
    func text(_ c: Int32) -> String? {
        guard !isNull(c), let p = sqlite3_column_text(stmt, c) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, c))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    func blob(_ c: Int32) -> [UInt8]? {
        guard !isNull(c) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, c))
        guard n > 0, let p = sqlite3_column_blob(stmt, c) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
