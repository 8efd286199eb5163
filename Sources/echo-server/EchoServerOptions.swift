import Broadcast
import PushServer
import Reactor
import WebSocketCodec
import Redis
import RedisRooms

/// echo-server's command line.
struct EchoServerOptions {
    var configuration = ServerConfiguration()
    var publishToken: String?
    var staticDirectory: String?
    /// Rooms across nodes through this Redis (`--redis`, `--node-id`); nil: this process alone.
    var redisRooms: RedisRoomsConfiguration?

    struct UsageError: Error {
        let message: String
    }

    static let usage = """
    usage: echo-server [options]

      --host ADDRESS        address to listen on (IPv4 or IPv6)          default 0.0.0.0
      --port N              port (0 picks a free one)                   default 9001
      --threads N           event loops, one thread each                default: one per core
      --io epoll|uring      how the loops wait and move bytes           default: uring where the
                            kernel allows it, else epoll (said on stderr); TLS runs on epoll
      --backlog N           each loop's listen queue (capped by net.core.somaxconn)  default 4096
      --max-message BYTES   largest message accepted; larger close 1009 default 16777216
                            (at most 1/8 of --max-buffered-total: a message is held while it
                            arrives, and encoded for SSE at up to 7 bytes per byte)
      --max-buffered-total BYTES  what the process may hold for all its clients: messages
                            and requests partly received, output for slow readers. Past it a
                            WebSocket needing more gets 1013, a request or upgrade 503
                                                                        default 1073741824
      --ping-interval SECS  ping a WebSocket silent this long (0: off)  default 30
      --pong-timeout SECS   drop a pinged WebSocket silent this long    default 10
      --head-timeout SECS   a connection must send a whole request head this soon after it
                            opens (or after the previous answer on keep-alive); else 408
                            and close (an idle keep-alive connection just closes)  default 10
      --publish-token TOKEN allow POST /publish/ROOM with 'Authorization: Bearer TOKEN'
                            (without it, POST /publish answers 403)
      --cors ORIGINS        comma-separated origins allowed cross-origin, or '*'  default: none
      --allowed-origins ORIGINS  origins whose pages may open WebSockets (same form) default: any
      --static DIR          serve the files under DIR at /static/
      --queue-cap BYTES     bytes a room member may have queued before it is closed (1008)
                                                                        default 1048576
      --slow skip           skip messages for a member over the cap instead of closing it
      --conflate-room NAME  every member of room NAME gets the newest message of each key
                            while it is behind (repeatable)
      --conflate-unsent BYTES  bytes the kernel may hold unsent for a member that conflates;
                            past them the server holds updates back (0: the kernel's own)
                                                                        default 65536
      --tls-cert FILE       serve TLS (https://, wss://) with this PEM certificate chain,
      --tls-key FILE        and this PEM private key (unencrypted). Repeat the pair for
                            more certificates: a client naming a host (SNI) gets the first
                            one listing it; the first pair serves everyone else.
                            Reloaded on SIGHUP.                          default: plain TCP
      --tls-handshake-timeout SECS  drop a connection whose TLS handshake takes longer
                                                                        default 10
      --deflate             accept permessage-deflate (RFC 7692): compress what is sent to
                            clients that offer it (room messages once for all of them), inflate
                            what they send; messages under 64 bytes go plain
      --redis URL           rooms span every node started with the same Redis:
                            redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]     default: this node alone
      --node-id ID          this node's name in the cluster (letters, digits, . _ -)
                                                                        default: node-<random hex>
      -h, --help            this text

    ws://HOST:PORT/room/NAME[?self=0]  joins room NAME; what it sends goes to the room
      (also conflate=1, rate=N, volatile=1, keyAt=OFFSET:LENGTH: see the README)
    (with --tls-cert: wss:// and https:// instead of ws:// and http://, on the same port)
    ws://HOST:PORT/ANY-OTHER-PATH      echoes every message with its opcode
    GET /sse/NAME, /poll/NAME?since=SEQ[&wait=SECS], /iframe/NAME: the room over SSE,
    (long-)polling and iframe streaming; POST /publish/NAME publishes the body.
    /events/ws, /events/sse, /events/poll (?room=NAME[&self=0]): the events protocol;
    event "publish" reaches the room as "message". Client: /events/client.js.
    http://HOST:PORT/ serves a page to try the echo in a browser.
    With --redis, GET /cluster shows the cluster's nodes and rooms.
    """

    /// nil when --help was asked.
    static func parse(_ arguments: [String]) throws(UsageError) -> EchoServerOptions? {
        var options = EchoServerOptions()
        var redisURL: String?
        var nodeID: String?
        var remaining = arguments[...]
        var chains: [String] = []
        var keys: [String] = []
        var handshakeTimeout: Int?
        var maxMessage: String?
        while let argument = remaining.popFirst() {
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard let next = remaining.popFirst() else { throw UsageError(message: "\(name) needs a value") }
                return next
            }
            func integer(_ range: ClosedRange<Int>) throws(UsageError) -> Int {
                let text = try value()
                guard let number = Int(text), range.contains(number) else {
                    throw UsageError(message: "\(name) needs a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
                }
                return number
            }
            switch name {
            case "-h", "--help": return nil
            case "--host": options.configuration.host = try value()
            case "--port": options.configuration.port = try integer(0...65535)
            case "--threads": options.configuration.threads = try integer(1...1024)
            case "--io":
                let text = try value()
                guard let backend = IOBackend(rawValue: text) else { throw UsageError(message: "--io takes epoll or uring, got '\(text)'") }
                options.configuration.io = backend
            case "--backlog": options.configuration.backlog = try integer(1...65535)
            case "--max-message": maxMessage = try value()  // its range depends on --max-buffered-total
            case "--max-buffered-total": options.configuration.maxBufferedTotal = try integer(65536...(1 << 46))
            case "--ping-interval": options.configuration.pingInterval = .seconds(try integer(0...86400))
            case "--pong-timeout": options.configuration.pongTimeout = .seconds(try integer(1...86400))
            case "--head-timeout": options.configuration.handshakeTimeout = .seconds(try integer(1...3600))
            case "--publish-token":
                let token = try value()
                guard !token.isEmpty else { throw UsageError(message: "--publish-token needs a non-empty token") }
                options.publishToken = token
            case "--cors": options.configuration.corsOrigins = try value().split(separator: ",").map(String.init)
            case "--allowed-origins": options.configuration.allowedOrigins = try value().split(separator: ",").map(String.init)
            case "--static": options.staticDirectory = try value()
            case "--queue-cap": options.configuration.broadcast.maxQueuedBytes = try integer(1024...(1 << 30))
            case "--deflate": options.configuration.deflate = PerMessageDeflate.ServerPolicy()
            case "--slow":
                let policy = try value()
                guard policy == "skip" || policy == "close" else { throw UsageError(message: "--slow takes skip or close, got '\(policy)'") }
                options.configuration.broadcast.slowSubscriberPolicy = policy == "skip" ? .skip : .close
            case "--conflate-unsent":
                let bytes = try integer(0...(16 << 20))
                options.configuration.conflatingUnsentLimit = bytes == 0 ? nil : bytes
            case "--conflate-room":
                let room = try value()
                guard !room.isEmpty else { throw UsageError(message: "--conflate-room needs a room name") }
                options.configuration.broadcast.roomOptions[room] = RoomOptions(conflate: true)
            case "--tls-cert": chains.append(try value())
            case "--tls-key": keys.append(try value())
            case "--tls-handshake-timeout": handshakeTimeout = try integer(1...3600)
            case "--redis": redisURL = try value()
            case "--node-id": nodeID = try value()
            default: throw UsageError(message: "unknown option \(argument)")
            }
        }
        // A message is held while it arrives and encoded for SSE at up to 7 bytes per byte: the budget bounds it.
        let budget = options.configuration.maxBufferedTotal
        let limit = options.configuration.maxMessageSizeLimit
        if let text = maxMessage {
            guard let bytes = Int(text), (0...limit).contains(bytes) else {
                throw UsageError(message: "--max-message needs a whole number in 0...\(limit), got '\(text)': at most 1/8 of "
                                 + "--max-buffered-total (\(budget)) and at most 2^31; raise --max-buffered-total for larger messages")
            }
            options.configuration.maxMessageSize = bytes
        } else if options.configuration.maxMessageSize > limit {
            let needed = options.configuration.maxMessageSize * ServerConfiguration.bytesHeldPerMessageByte
            throw UsageError(message: "--max-buffered-total \(budget) allows messages of at most \(limit) bytes (1/8 of it), less than "
                             + "the default --max-message \(options.configuration.maxMessageSize): give --max-message \(limit) "
                             + "or less, or a budget of at least \(needed)")
        }
        if !chains.isEmpty || !keys.isEmpty || handshakeTimeout != nil {
            do {
                var tls = try TLSConfiguration(chainPaths: chains, keyPaths: keys)
                if let handshakeTimeout { tls.handshakeTimeout = UInt64(handshakeTimeout) * 1_000_000_000 }
                options.configuration.tls = tls
            } catch {
                throw UsageError(message: "--tls-cert/--tls-key: \(error.message)")
            }
        }
        if let redisURL {
            do {
                options.redisRooms = try RedisRoomsConfiguration(redis: RedisConfiguration(url: redisURL), nodeID: nodeID)
            } catch {
                throw UsageError(message: "--redis \(redisURL.contains("@") ? "URL" : redisURL): \(error.message)")
            }
        } else if nodeID != nil {
            throw UsageError(message: "--node-id names this node in a cluster: it needs --redis")
        }
        return options
    }
}
