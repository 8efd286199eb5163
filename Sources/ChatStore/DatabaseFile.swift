import CSQLite
import Glibc

/// Opening the store's file: the rules that keep a user's file safe.
///
/// A file is created only where nothing is at the path. A file that exists
/// but is not a database, is corrupt or has a newer schema is refused with a
/// typed error and left as it was: nothing is written to it, and nothing new
/// is put in its place.
enum DatabaseFile {
    /// The writer's connection: checked, in WAL mode, migrated.
    static func openForWriting(_ path: String, _ configuration: ChatStoreConfiguration) throws(ChatStoreError) -> SQLiteConnection {
        let exists = try fileExists(path)
        if !exists && !configuration.createIfMissing { throw .missingFile(path: path) }
        let connection = try SQLiteConnection(path: path, create: !exists)
        if connection.isReadOnly {
            throw .cannotOpen(path: path, reason: "the file is read-only, and the store writes to it")
        }
        try opening(path) { () throws(ChatStoreError) in
            try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMilliseconds)")
            // The first read of the header: a file that is not a database fails here.
            let version = Int(try connection.integer("PRAGMA user_version"))
            if configuration.checkIntegrityAtOpen {
                let problems = try connection.strings("PRAGMA quick_check(5)")
                if problems != ["ok"] {
                    let lines = problems.flatMap { $0.split(separator: "\n") }.filter { !$0.hasPrefix("***") }
                    throw .corrupt(path: path, detail: "quick_check: " + lines.prefix(5).joined(separator: "; "))
                }
            }
            if version > Schema.version {
                throw .newerSchema(path: path, version: version, supported: Schema.version)
            }
            let mode = try connection.strings("PRAGMA journal_mode = WAL")
            guard mode == ["wal"] else {
                throw .cannotOpen(path: path, reason: "SQLite refused WAL mode (journal mode \(mode.first ?? "unknown"))")
            }
            try connection.execute("PRAGMA synchronous = \(configuration.synchronous.rawValue.uppercased())")
            try connection.execute("PRAGMA foreign_keys = ON")
            if let bytes = configuration.maxDatabaseBytes {
                let pageSize = try connection.integer("PRAGMA page_size")
                try connection.execute("PRAGMA max_page_count = \(max(1, bytes / max(pageSize, 1)))")
            }
            try migrate(connection, from: version)
        }
        return connection
    }

    /// The reader's connection, on the file the writer has set up. Reads see
    /// the last committed transaction and never wait for the writer (WAL).
    static func openForReading(_ path: String, _ configuration: ChatStoreConfiguration) throws(ChatStoreError) -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, create: false)
        try opening(path) { () throws(ChatStoreError) in
            try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMilliseconds); PRAGMA query_only = ON")
        }
        return connection
    }

    /// Applies the migrations the file lacks, all or none.
    private static func migrate(_ connection: SQLiteConnection, from version: Int) throws(ChatStoreError) {
        guard version < Schema.version else { return }
        do throws(ChatStoreError) {
            try connection.execute("BEGIN IMMEDIATE")
            // Another process may have migrated while this one waited for the lock.
            let current = Int(try connection.integer("PRAGMA user_version"))
            for migration in Schema.migrations.dropFirst(current) {
                try connection.execute(migration)
            }
            try connection.execute("PRAGMA user_version = \(Schema.version)")
            try connection.execute("COMMIT")
        } catch {
            if connection.inTransaction { try? connection.execute("ROLLBACK") }
            throw .migrationFailed(path: connection.path, toVersion: Schema.version, reason: error.description)
        }
    }

    /// Names SQLite's complaints about the file as the open errors they are.
    private static func opening(_ path: String, _ body: () throws(ChatStoreError) -> Void) throws(ChatStoreError) {
        do throws(ChatStoreError) {
            try body()
        } catch {
            guard case .sqlite(let code, let message) = error else { throw error }
            switch code & 0xff {
            case SQLITE_NOTADB: throw .notADatabase(path: path)
            case SQLITE_CORRUPT: throw .corrupt(path: path, detail: message)
            default: throw .cannotOpen(path: path, reason: message)
            }
        }
    }

    /// Whether something is at `path`. A directory, or a path that cannot be
    /// looked at, is an error: SQLite must not be asked to create anything there.
    private static func fileExists(_ path: String) throws(ChatStoreError) -> Bool {
        guard !path.isEmpty else { throw .cannotOpen(path: path, reason: "the path is empty") }
        var status = stat()
        if stat(path, &status) != 0 {
            let error = errno
            guard error == ENOENT else { throw .cannotOpen(path: path, reason: String(cString: strerror(error))) }
            return false
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw .cannotOpen(path: path, reason: "it is a directory") }
        return true
    }
}
