/// How a store opens and writes its file. The defaults favour durability.
public struct ChatStoreConfiguration: Sendable {
    /// SQLite's `PRAGMA synchronous` in WAL mode: when a commit reaches the disk.
    public enum Synchronous: String, Sendable {
        /// The WAL is fsynced at every commit: an acknowledged write survives
        /// a crash of the process, of the OS, or a power cut. Costs one fsync
        /// per transaction, which group commit shares among a whole batch.
        case full
        /// The WAL is fsynced only at checkpoints: an acknowledged write
        /// survives a crash of the process (the OS holds it), but the last
        /// transactions before an OS crash or a power cut may be lost (the
        /// file stays consistent). No fsync on the commit path.
        case normal
    }

    public var synchronous: Synchronous = .full
    /// Creates the file when nothing is at the path. An existing file that
    /// fails to open is never replaced, whatever this says.
    public var createIfMissing = true
    /// Runs `PRAGMA quick_check` at open (reads the whole file: about a
    /// second per few hundred MB) and refuses a corrupt database.
    public var checkIntegrityAtOpen = true
    /// The most writes one transaction takes from the queue. The writer takes
    /// every waiting write up to this; 1 turns group commit off (benchmarks).
    public var maxBatchSize = 4096
    /// A cap on the database file's size (SQLite's `max_page_count`), as a
    /// quota; nil: none. A batch that would pass it is rolled back and each
    /// of its writes fails with `.sqlite` (SQLITE_FULL), as on a full disk.
    public var maxDatabaseBytes: Int64? = nil
    /// How long a statement waits for a lock another process holds.
    public var busyTimeoutMilliseconds: Int32 = 5000

    public init() {}
}
