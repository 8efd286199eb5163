import CSQLite

/// One SQLite connection, used by one thread at a time (opened without
/// SQLite's per-connection mutex). Closed when the last reference, its own
/// or a statement's, goes.
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String

    /// Opens `path` read-write; creates the file only with `create`.
    init(path: String, create: Bool) throws(ChatStoreError) {
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw .cannotOpen(path: path, reason: reason)
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs SQL that returns no rows (several statements allowed).
    func execute(_ sql: String) throws(ChatStoreError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw error(code) }
    }

    func prepare(_ sql: String) throws(ChatStoreError) -> Statement {
        try Statement(sql, on: self)
    }

    /// The first column of every row of `sql`, as text.
    func strings(_ sql: String) throws(ChatStoreError) -> [String] {
        try prepare(sql).rows { $0.text(0) }
    }

    func integer(_ sql: String) throws(ChatStoreError) -> Int64 {
        try prepare(sql).firstRow { $0.int64(0) } ?? 0
    }

    /// False once SQLite has rolled the transaction back on its own (after
    /// an I/O error, say), or when none is open.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    var lastInsertedID: Int64 { sqlite3_last_insert_rowid(handle) }

    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    func error(_ code: Int32) -> ChatStoreError {
        .sqlite(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }
}

/// A prepared statement, prepared once and reused: bind, step, reset.
final class Statement {
    private let handle: OpaquePointer
    private let connection: SQLiteConnection  // kept open while a statement needs it

    fileprivate init(_ sql: String, on connection: SQLiteConnection) throws(ChatStoreError) {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else { throw connection.error(code) }
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    /// Binds text by length, so a NUL inside it is kept; nil binds NULL.
    func bind(_ value: String?, at index: Int32) throws(ChatStoreError) {
        guard var text = value else {
            sqlite3_bind_null(handle, index)
            return
        }
        let code = text.withUTF8 { bytes in
            guard let length = Int32(exactly: bytes.count) else { return SQLITE_TOOBIG }
            return bytes.withMemoryRebound(to: CChar.self) { chars in
                csqlite_bind_text_copy(handle, index, chars.baseAddress, length)
            }
        }
        guard code == SQLITE_OK else { throw connection.error(code) }
    }

    /// True when a row is ready to read, false when the statement is done.
    func step() throws(ChatStoreError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(code)
        }
    }

    /// Ready for the next use, bindings cleared.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Runs to completion (no rows expected), then resets.
    func run() throws(ChatStoreError) {
        defer { reset() }
        while try step() {}
    }

    func rows<Row>(_ read: (Statement) -> Row) throws(ChatStoreError) -> [Row] {
        defer { reset() }
        var rows: [Row] = []
        while try step() { rows.append(read(self)) }
        return rows
    }

    func firstRow<Row>(_ read: (Statement) -> Row) throws(ChatStoreError) -> Row? {
        defer { reset() }
        return try step() ? read(self) : nil
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func text(_ column: Int32) -> String { optionalText(column) ?? "" }

    func optionalText(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}
