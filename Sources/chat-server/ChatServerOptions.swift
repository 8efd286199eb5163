import Chat
import ChatStore
import PushServer
import Reactor

/// chat-server's command line.
struct ChatServerOptions {
    var server = ServerConfiguration()
    var chat = ChatConfiguration()
    var store = ChatStoreConfiguration()
    var databasePath = "chat.db"
    var storageOff = false

    typealias UsageError = CommandLineFlags.UsageError

    static let defaultPort = 8090

    static let usage = """
    usage: chat-server [options]

      --host ADDRESS        address to listen on (IPv4 or IPv6)              default 0.0.0.0
      --port N              port (0 picks a free one)                       default \(defaultPort)
      --threads N           event loops, one thread each                    default: one per core
      --io epoll|uring      how the loops wait and move bytes    default: uring where the kernel allows it
      --backlog N           each loop's listen queue (capped by net.core.somaxconn)  default 4096
      --db PATH             the SQLite database file; created only where nothing is   default chat.db
      --sync full|normal    full: an acknowledged message survives a power cut (an fsync per
                            commit); normal: it survives a crash of the server, not of the OS
                                                                            default full
      --no-store            keep nothing: no database, no history (to measure what storage costs)
      --history N           messages a user gets on entering (1-1000)       default 20
      --max-name N          longest name, in characters (1-256)             default 32
      --max-message N       longest message, in characters (1-16000)        default 2000
      --flood-rate N        messages a connection may send per second (0: no limit)   default 5
      --flood-burst N       ...and at once                                  default 10
      -h, --help            this text

    http://HOST:PORT/ is the chat page. The chat speaks the events protocol at /events
    (client: /events/client.js); its events are listed in the README (chat-server).
    """

    /// nil when --help was asked.
    static func parse(_ arguments: [String]) throws(UsageError) -> ChatServerOptions? {
        var options = ChatServerOptions()
        options.server.port = defaultPort
        var flags = CommandLineFlags(arguments)
        while let name = flags.next() {
            switch name {
            case "-h", "--help": return nil
            case "--host": options.server.host = try flags.value()
            case "--port": options.server.port = try flags.integer(0...65535)
            case "--threads": options.server.threads = try flags.integer(1...1024)
            case "--io": options.server.io = try flags.backend()
            case "--backlog": options.server.backlog = try flags.integer(1...65535)
            case "--db":
                let path = try flags.value()
                guard !path.isEmpty else { throw UsageError("--db needs a file name") }
                options.databasePath = path
            case "--sync":
                let mode = try flags.value()
                guard let synchronous = ChatStoreConfiguration.Synchronous(rawValue: mode) else {
                    throw UsageError("--sync takes full or normal, got '\(mode)'")
                }
                options.store.synchronous = synchronous
            case "--no-store":
                try flags.noValue()
                options.storageOff = true
            case "--history": options.chat.historyCount = try flags.integer(1...1000)
            case "--max-name": options.chat.maxNameLength = try flags.integer(1...256)
            case "--max-message": options.chat.maxMessageLength = try flags.integer(1...16000)
            case "--flood-rate": options.chat.floodRate = try flags.integer(0...1_000_000)
            case "--flood-burst": options.chat.floodBurst = try flags.integer(1...1_000_000)
            default: throw flags.unknown()
            }
        }
        return options
    }
}
