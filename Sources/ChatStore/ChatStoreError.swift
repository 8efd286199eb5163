import CSQLite

/// Everything the store reports. The open errors name the file and say what
/// to do about it, so a server can print `description` and exit.
public enum ChatStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    // Opening.
    /// No file at the path, and `createIfMissing` is off.
    case missingFile(path: String)
    /// The file (or its directory, for the -wal and -shm files) cannot be opened or written.
    case cannotOpen(path: String, reason: String)
    /// The file exists but is not an SQLite database.
    case notADatabase(path: String)
    /// An SQLite database that fails `PRAGMA quick_check`, or that SQLite found damaged.
    case corrupt(path: String, detail: String)
    /// Written by a newer build, whose schema this one does not know.
    case newerSchema(path: String, version: Int, supported: Int)
    /// A migration failed; the file is left at its old version.
    case migrationFailed(path: String, toVersion: Int, reason: String)

    // Requests.
    /// Another user has this name (names are unique regardless of ASCII case).
    case nameTaken(String)
    case unknownUser(Int64)
    /// The two users are not friends: no message between them is stored.
    case notFriends(Int64, Int64)
    case invalidArgument(String)
    /// The store was closed before the request could run.
    case closed
    /// SQLite failed (disk full, I/O error, a statement it refused). For a
    /// write, nothing of the batch it was in was stored.
    case sqlite(code: Int32, message: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such database file (nothing was created)"
        case .cannotOpen(let path, let reason):
            return "cannot open the database \(path): \(reason)"
        case .notADatabase(let path):
            return "\(path) is not an SQLite database; it was left untouched: name another file, or move this one away"
        case .corrupt(let path, let detail):
            return "\(path) is a corrupt SQLite database (\(detail)); it was left untouched: restore it from a backup, or salvage it with `sqlite3 \(path) .recover`"
        case .newerSchema(let path, let version, let supported):
            return "\(path) has schema version \(version), newer than this build knows (\(supported)); it was left untouched: run the newer build, or name another file"
        case .migrationFailed(let path, let version, let reason):
            return "cannot migrate \(path) to schema version \(version): \(reason); the file keeps its old version"
        case .nameTaken(let name):
            return "the name \(name) is taken"
        case .unknownUser(let id):
            return "no user has id \(id)"
        case .notFriends(let a, let b):
            return "users \(a) and \(b) are not friends"
        case .invalidArgument(let reason):
            return reason
        case .closed:
            return "the chat store is closed"
        case .sqlite(let code, let message):
            return "SQLite error \(code): \(message)"
        }
    }

    /// A failure that rolled back only the statement that hit it (SQLite
    /// keeps the transaction): it refuses one request, not its batch.
    var isStatementOnly: Bool {
        guard case .sqlite(let code, _) = self else { return true }
        switch code & 0xff {
        case SQLITE_CONSTRAINT, SQLITE_TOOBIG, SQLITE_MISMATCH, SQLITE_RANGE: return true
        default: return false
        }
    }

    var isConstraint: Bool {
        if case .sqlite(let code, _) = self { return code & 0xff == SQLITE_CONSTRAINT }
        return false
    }
}
