#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Histograms
import Reactor
import WebSocketCodec

/// What a run measures.
enum Scenario: String, Sendable, CaseIterable {
    /// Each connection sends messages and times the server's echo.
    case echo
    /// Publishers send to one room; every connection subscribes and times delivery.
    case broadcast
    /// Connections are opened (and handshaken) as fast as allowed; the handshake is timed.
    case connect
    /// Broadcast whose subscribers listen over Server-Sent Events (`/sse/ROOM`);
    /// publishers (and `--ws-subscribers`) stay on WebSocket.
    case sse
    /// Broadcast whose subscribers long-poll (`/poll/ROOM?since=SEQ&wait=25`).
    case longpoll
    /// Broadcast where every connection speaks the events protocol over
    /// WebSocket (`/events/ws?room=ROOM`): publishers emit `publish`, the
    /// room's members get `message`.
    case events
    /// A ticker: publishers send updates of `--keys` keys to one room whose
    /// members conflate by key (`conflate=1`); `--slow` of them read at a
    /// fraction of the publish rate. Checks that full-speed members get
    /// every update, and that no member gets an older value of a key after a
    /// newer one or ends without the last value of every key.
    case ticker

    /// Publishers send to one room and every other connection checks what arrives.
    var isRoom: Bool { self == .broadcast || self == .sse || self == .longpoll || self == .events || self == .ticker }

    /// How the subscribers that are not `--ws-subscribers` listen.
    var subscriberTransport: Transport {
        switch self {
        case .sse: .eventStream
        case .longpoll: .longPolling
        case .echo, .broadcast, .connect, .events, .ticker: .webSocket
        }
    }

    /// SSE and JSON carry text: publishers send a hex header (`TextMessageHeader`),
    /// in text frames or (events) as the argument of an event packet.
    var sendsText: Bool { self == .sse || self == .longpoll || self == .events }

    /// Subscribers listen over another transport than the publishers, next
    /// to `--ws-subscribers` WebSocket ones, and are counted per transport.
    var mixesTransports: Bool { self == .sse || self == .longpoll }

    /// Every connection opens an events session and joins the room through it.
    var speaksEvents: Bool { self == .events }

    /// The largest `-s`: a whole SSE line or JSON element in one read, and
    /// (events) a whole packet within the server's `maxPayload`.
    var maximumPayload: Int {
        self == .events ? EventPacket.maximumPayload : TextMessageHeader.maximumPayload
    }
}

/// What fills a message after its header.
enum PayloadKind: String, Sendable, CaseIterable {
    /// Zeros (binary) or 'x' (the text header of sse and longpoll): the cheapest bytes to make and check.
    case padding
    /// A JSON quote feed (`TickerPayload`) in text frames, which compresses like real data.
    case ticker
}

/// Everything a run needs, already validated. Durations are in nanoseconds,
/// the unit of the monotonic clock and of `LatencyHistogram`.
struct BenchOptions: Sendable, Equatable {
    var host: String
    var port: UInt16 = 80
    /// wss:// (or https://): every connection speaks TLS.
    var secure = false
    /// With `secure`: accept any certificate (a self-signed test one) instead of verifying it
    /// against the system's roots and the URL's host.
    var insecure = false
    /// Path and query of the upgrade request; starts with "/".
    var path: String = "/"
    /// Connections to open; in broadcast, the subscribers.
    var connections = 100
    /// sse and longpoll: subscribers that listen over WebSocket instead, in the same room.
    var webSocketSubscribers = 0
    /// Event loops, one thread each.
    var threads: Int
    /// The loops' backend; nil: FANOUT_IO, else io_uring where the kernel allows it.
    var io: IOBackend?
    /// How long to measure, after the warmup.
    var durationNanoseconds: UInt64 = 10 * nanosecondsPerSecond
    /// Total messages per second across all connections (open loop);
    /// 0 means closed loop: each connection waits for its reply before sending again.
    var messagesPerSecond = 0
    var payloadSize = 64
    var payload = PayloadKind.padding
    var scenario: Scenario = .echo
    /// Offer permessage-deflate on every WebSocket (nil: no extension is offered).
    var deflate: PerMessageDeflate.ClientOffer? = nil
    var publishers = 1
    /// Connections opened per second; 0 opens them as fast as possible.
    var connectionsOpenedPerSecond = 0
    /// Connects plus handshakes under way at once, over all loops; nil: 512
    /// (a burst of thousands would overflow the server's accept backlog).
    var maxInFlight: Int? = nil
    /// Local IPv4 addresses (host byte order) to bind connections to, round-robin;
    /// empty lets the kernel choose. More addresses mean more ephemeral ports.
    var sourceAddresses: [UInt32] = []
    var warmupNanoseconds: UInt64 = nanosecondsPerSecond
    /// Limit for connecting plus the handshake, and for the final drain.
    var timeoutNanoseconds: UInt64 = 10 * nanosecondsPerSecond
    /// Where to also write the results as JSON.
    var jsonPath: String? = nil
    /// Exit 0 even when messages were lost, duplicated or reordered.
    var allowLoss = false
    /// Broadcast: publish rates (messages/s) to run one after another.
    var rateLadder: [Int] = []
    /// Broadcast: search for the highest rate the subscribers keep up with.
    var findMaxRate = false
    /// Whose CPU time (from /proc/PID/stat) to report per unit of work.
    var serverPID: Int32? = nil
    /// Step mode: subscribers added per step.
    var stepSubscribers: Int? = nil
    /// Step mode: the largest room whose p95 stays under this wins.
    var p95LimitNanoseconds: UInt64? = nil
    /// Soak: one window this long (it is also the duration), sampled every `sampleIntervalNanoseconds`.
    var soakNanoseconds: UInt64? = nil
    var sampleIntervalNanoseconds: UInt64 = 60 * nanosecondsPerSecond
    /// Soak: samples this early are not judged; nil: max(one interval, 10% of the soak).
    var soakWarmUpNanoseconds: UInt64? = nil
    /// Soak: where to also write the samples as CSV.
    var soakCSVPath: String? = nil
    /// Ticker: keys the publishers update (each key belongs to one publisher).
    var keyCount = 1000
    /// Ticker: subscribers that read slowly, and their pace as a fraction of the publish rate.
    var slowSubscribers = 0
    var slowSpeed = 0.1
    /// Ticker: a slow subscriber's socket receive buffer (SO_RCVBUF), as a slow link keeps it nearly
    /// empty; 0 leaves the kernel's.
    var slowReceiveBuffer = 0

    init(host: String, port: UInt16 = 80, path: String = "/", threads: Int) {
        self.host = host
        self.port = port
        self.path = path
        self.threads = threads
    }

    /// The server URL, for reports.
    var url: String {
        let printableHost = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "wss" : "ws")://\(printableHost):\(port)\(path)"
    }
}

private let nanosecondsPerSecond: UInt64 = 1_000_000_000

/// A command line that cannot run; `message` names the problem.
struct UsageError: Error, Equatable {
    var message: String
}

/// wrk/h2load-style command-line parsing: `-c 100`, `-c100`, `--connections 100`,
/// `--connections=100`, flags without values, `--` before a URL that starts with "-".
/// Later occurrences of an option override earlier ones.
enum BenchOptionsParser {
    /// The options, or nil when -h/--help was asked anywhere on the line.
    static func parse(_ arguments: [String], coreCount: Int = onlineCoreCount()) throws(UsageError) -> BenchOptions? {
        let optionArguments = arguments.prefix { $0 != "--" }
        if optionArguments.contains("-h") || optionArguments.contains("--help") { return nil }

        var options = BenchOptions(host: "", threads: Swift.max(1, coreCount))
        var given: [Option: String] = [:]  // option → how the user spelled it
        var positionals: [String] = []
        var index = arguments.startIndex
        var optionsEnded = false
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            let (option, spelling, attachedValue) = try recognize(argument)
            given[option] = spelling
            guard option.takesValue else {
                if attachedValue != nil { throw UsageError("\(spelling) takes no value") }
                apply(flag: option, to: &options)
                continue
            }
            let value: String
            if let attachedValue {
                value = attachedValue
            } else {
                guard index < arguments.endIndex else { throw UsageError("\(spelling) needs a value") }
                value = arguments[index]
                index += 1
            }
            try apply(option, spelling: spelling, value: value, to: &options)
        }

        guard let url = positionals.first else {
            throw UsageError("missing the server URL, e.g. ws://127.0.0.1:8080/")
        }
        if positionals.count > 1 {
            throw UsageError("unexpected argument '\(positionals[1])': only one URL is allowed")
        }
        (options.host, options.port, options.path, options.secure) = try parseURL(url, allowingHTTP: options.scenario.mixesTransports)
        try checkCombinations(options, given: given)
        return options
    }

    /// A range is capped so a typo cannot expand into millions of addresses;
    /// 65,536 addresses × 28,000 ephemeral ports is far past any file limit.
    static let maximumAddressRangeCount = 65_536

    /// Online processors; the default thread count. Ignores CPU affinity
    /// (taskset), so pass `coreCount` when pinned.
    static func onlineCoreCount() -> Int {
        Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    static let usage = """
        Usage: wsbench [options] ws://host:port/path   (or wss://, TLS)

          -c, --connections N     connections (the room, publishers included, for broadcast/sse/longpoll/events/ticker)  default 100
          -t, --threads N         event loops (threads)                       default: number of cores
              --io BACKEND        epoll | uring: how the loops wait and move bytes  default: uring where the kernel allows it
          -d, --duration D        measured duration, e.g. 10s, 500ms, 2m       default 10s
          -r, --rate R            total messages/s, open loop (0 = closed loop: each connection waits for its reply)  default 0
          -s, --size BYTES        message payload size (e.g. 64, 1k, 16KiB; broadcast: at least 24; sse/longpoll: 44-65536;
                                  events: 44-\(EventPacket.maximumPayload); ticker: at least \(KeyedUpdate.size))  default 64
              --scenario NAME     echo | broadcast | connect | sse | longpoll | events | ticker  default echo
              --publishers N      publishers (broadcast, sse, longpoll, events, ticker)  default 1
              --keys K            ticker: keys updated (key k belongs to publisher k mod publishers)  default 1000
              --slow N            ticker: N of the subscribers read slowly (leaving the rest in their sockets)  default 0
              --slow-speed F      ticker: a slow subscriber reads F × the publish rate in messages, 0 < F <= 1  default 0.1
              --slow-rcvbuf BYTES ticker: a slow subscriber's socket receive buffer (SO_RCVBUF; 0: the kernel's)  default 0
              --ws-subscribers N  sse/longpoll: N of the subscribers over WebSocket instead  default 0
              --ramp N            connections opened per second (0 = as fast as possible)  default 0
              --in-flight N       connects plus handshakes under way at once (over all threads)  default 512
              --bind RANGE        source addresses, e.g. 127.0.0.2-127.0.0.40 or a single address; connections are spread round-robin
              --payload KIND      padding | ticker (JSON quotes, text frames; echo and broadcast)  default padding
              --deflate           offer permessage-deflate and inflate what arrives; the server must accept it
              --server-no-context-takeover  --client-no-context-takeover
              --server-max-window-bits N    --client-max-window-bits N   (8-15): permessage-deflate parameters to offer
              --warmup D          run this long before measuring              default 1s
              --timeout D         connect/handshake and final-drain timeout   default 10s
              --json FILE         also write the results as JSON
              --allow-loss        exit 0 even with loss/duplicates/reordering
              --rates LIST        rate ladder (broadcast, sse, longpoll, events, ticker), e.g. 500,1000,2000
              --find-max          search the highest kept-up rate (broadcast, sse, longpoll, events, ticker)
              --server-pid PID    read the server's CPU from /proc/PID/stat
              --insecure          wss://: accept any certificate (self-signed test ones); default: verify
                                  it against the system's trusted roots and the URL's host
              --step N            step mode: add N subscribers per step
              --p95-limit D       step mode: largest room whose p95 stays under D
              --soak D            soak: run D (instead of -d), sampling RSS, descriptors (own and --server-pid's)
                                  and latency; fails unless memory and descriptors stay flat within 2%
              --sample-interval D soak: time between samples                  default 60s
              --soak-warmup D     soak: samples this early are not judged      default max(interval, 10% of the soak)
              --soak-csv FILE     soak: also write the samples as CSV
          -h, --help              usage with examples

        Durations take ns, us, ms, s (the default), m or h, e.g. 1.5s; sizes take k/KiB or m/MiB (×1024).
        Broadcast joins the room at the URL's path (/ or /room alone become /room/wsbench); publishers add ?self=0.
        sse and longpoll take the room's URL (ws:// or http://, /room/NAME, /sse/NAME or /poll/NAME): publishers
        join ws://.../room/NAME?self=0 and send text; subscribers read /sse/NAME or long-poll /poll/NAME.
        events takes the room's URL (/room/NAME or /events/ws?room=NAME): every connection opens an events session
        at /events/ws?room=NAME (publishers add &self=0); publishers emit "publish", receivers check each "message".
        ticker joins the room at the URL's path as broadcast does, subscribers with conflate=1, publishers with
        self=0&conflate=1&\(KeyedUpdate.keyAtQuery); it needs a rate (-r, --rates or --find-max).
        Exit status: 0 passed, 1 loss/duplicates/reordering or connection/protocol errors, 2 usage, 3 cannot run.

        Examples:
          Echo latency, 100 connections in closed loop for 30 s:
            wsbench -c 100 -d 30s ws://127.0.0.1:8080/echo
          Broadcast 2 msg/s to 10,000 subscribers spread over 39 source addresses:
            wsbench --scenario broadcast -c 10000 --bind 127.0.0.2-127.0.0.40 -r 2 ws://127.0.0.1:8080/room/demo
          Connect storm: 10,000 handshakes as fast as possible:
            wsbench --scenario connect -c 10000 --bind 127.0.0.2-40 ws://127.0.0.1:8080/
          The same with at most 128 handshakes under way at once (the issue's handshake-storm measure):
            wsbench --scenario connect -c 10000 --in-flight 128 ws://127.0.0.1:8080/
          Broadcast rate ladder to 1,000 subscribers, with the server's CPU per delivery:
            wsbench --scenario broadcast -c 1000 --rates 500,1000,2000,4000 --server-pid 4242 --json ladder.json ws://127.0.0.1:8080/room/demo
          1,000 SSE and 100 WebSocket subscribers in one room, 1 publisher at 100 msg/s:
            wsbench --scenario sse -c 1101 --ws-subscribers 100 -r 100 ws://127.0.0.1:8080/room/demo
          A 1 KiB JSON ticker to 10,000 subscribers with permessage-deflate (compare the bytes received without it):
            wsbench --scenario broadcast -c 10000 -r 2 -s 1k --payload ticker --deflate ws://127.0.0.1:8080/room/demo
          The same room of 1,000 over the events protocol (echo-server's /events), 1,000 msg/s:
            wsbench --scenario events -c 1001 -r 1000 ws://127.0.0.1:8080/room/demo
          A ticker of 1,000 keys at 5,000 updates/s to 1,000 subscribers, 100 of them reading at a tenth of that:
            wsbench --scenario ticker -c 1001 -r 5000 --slow 100 --server-pid 4242 ws://127.0.0.1:8080/room/quotes
        """

    // MARK: - Options

    private enum Option: String, CaseIterable {
        case connections, threads, io, duration, rate, size, scenario, publishers, ramp, bind, warmup, timeout, json
        case inFlight = "in-flight"
        case allowLoss = "allow-loss", rates, findMax = "find-max", serverPID = "server-pid", step
        case p95Limit = "p95-limit", webSocketSubscribers = "ws-subscribers", payload, deflate, insecure
        case serverNoContextTakeover = "server-no-context-takeover", clientNoContextTakeover = "client-no-context-takeover"
        case serverMaxWindowBits = "server-max-window-bits", clientMaxWindowBits = "client-max-window-bits"
        case soak, sampleInterval = "sample-interval", soakCSV = "soak-csv", soakWarmUp = "soak-warmup"
        case keys, slow, slowSpeed = "slow-speed", slowReceiveBuffer = "slow-rcvbuf"

        /// The permessage-deflate parameters, which only mean something with --deflate.
        var isDeflateParameter: Bool {
            [.serverNoContextTakeover, .clientNoContextTakeover, .serverMaxWindowBits, .clientMaxWindowBits].contains(self)
        }

        var shortName: Character? {
            switch self {
            case .connections: "c"
            case .threads: "t"
            case .duration: "d"
            case .rate: "r"
            case .size: "s"
            default: nil
            }
        }

        var takesValue: Bool {
            ![.allowLoss, .findMax, .deflate, .serverNoContextTakeover, .clientNoContextTakeover, .insecure].contains(self)
        }
    }

    /// The option an argument names, as spelled, and a value attached to it
    /// (`--name=value` or `-xvalue`).
    private static func recognize(_ argument: String) throws(UsageError) -> (Option, String, String?) {
        if argument.hasPrefix("--") {
            let body = argument.dropFirst(2)
            let name = body.prefix { $0 != "=" }
            let attachedValue = name.endIndex < body.endIndex ? String(body[body.index(after: name.endIndex)...]) : nil
            guard let option = Option(rawValue: String(name)) else { throw UsageError("unknown option --\(name)") }
            return (option, "--\(name)", attachedValue)
        }
        let letter = argument.dropFirst().first!
        guard let option = Option.allCases.first(where: { $0.shortName == letter }) else {
            throw UsageError("unknown option \(argument)")
        }
        let rest = argument.dropFirst(2)
        guard rest.isEmpty || option.takesValue else { throw UsageError("unknown option \(argument)") }
        return (option, "-\(letter)", rest.isEmpty ? nil : String(rest))
    }

    private static func apply(flag: Option, to options: inout BenchOptions) {
        switch flag {
        case .allowLoss: options.allowLoss = true
        case .findMax: options.findMaxRate = true
        case .deflate: options.deflate = options.deflate ?? PerMessageDeflate.ClientOffer()
        case .serverNoContextTakeover: options.deflateOffer { $0.serverNoContextTakeover = true }
        case .clientNoContextTakeover: options.deflateOffer { $0.clientNoContextTakeover = true }
        case .insecure: options.insecure = true
        default: preconditionFailure("\(flag) takes a value")
        }
    }

    private static func apply(_ option: Option, spelling: String, value: String,
                              to options: inout BenchOptions) throws(UsageError) {
        switch option {
        case .connections: options.connections = try positiveInteger(value, for: spelling)
        case .threads: options.threads = try positiveInteger(value, for: spelling)
        case .io:
            guard let backend = IOBackend(rawValue: value) else { throw UsageError("\(spelling) needs epoll or uring, got '\(value)'") }
            options.io = backend
        case .duration: options.durationNanoseconds = try positiveDuration(value, for: spelling)
        case .rate: options.messagesPerSecond = try nonNegativeInteger(value, for: spelling)
        case .size:
            guard let size = parseSize(value) else {
                throw UsageError("\(spelling) needs a size in bytes such as 64, 1k or 16KiB, got '\(value)'")
            }
            options.payloadSize = size
        case .scenario:
            guard let scenario = Scenario(rawValue: value) else {
                throw UsageError("\(spelling) needs echo, broadcast, connect, sse, longpoll, events or ticker, got '\(value)'")
            }
            options.scenario = scenario
        case .publishers: options.publishers = try positiveInteger(value, for: spelling)
        case .webSocketSubscribers: options.webSocketSubscribers = try nonNegativeInteger(value, for: spelling)
        case .ramp: options.connectionsOpenedPerSecond = try nonNegativeInteger(value, for: spelling)
        case .inFlight: options.maxInFlight = try positiveInteger(value, for: spelling)
        case .bind:
            guard let addresses = parseAddressRange(value) else {
                throw UsageError("\(spelling) needs an IPv4 address or a range such as 127.0.0.2-127.0.0.40 "
                    + "or 127.0.0.2-40 (at most \(Self.maximumAddressRangeCount) addresses), got '\(value)'")
            }
            options.sourceAddresses = addresses
        case .warmup:
            guard let warmup = parseDuration(value) else {
                throw UsageError("\(spelling) needs a duration such as 1s, 500ms or 0, got '\(value)'")
            }
            options.warmupNanoseconds = warmup
        case .timeout: options.timeoutNanoseconds = try positiveDuration(value, for: spelling)
        case .json:
            guard !value.isEmpty else { throw UsageError("\(spelling) needs a file name") }
            options.jsonPath = value
        case .rates: options.rateLadder = try rateList(value, for: spelling)
        case .serverPID:
            guard let pid = Int32(exactly: try positiveInteger(value, for: spelling)) else {
                throw UsageError("\(spelling) needs a process id, got '\(value)'")
            }
            options.serverPID = pid
        case .step: options.stepSubscribers = try positiveInteger(value, for: spelling)
        case .p95Limit: options.p95LimitNanoseconds = try positiveDuration(value, for: spelling)
        case .payload:
            guard let payload = PayloadKind(rawValue: value) else {
                throw UsageError("\(spelling) needs padding or ticker, got '\(value)'")
            }
            options.payload = payload
        case .serverMaxWindowBits:
            let bits = try windowBits(value, for: spelling)
            options.deflateOffer { $0.serverMaxWindowBits = bits }
        case .clientMaxWindowBits:
            let bits = try windowBits(value, for: spelling)
            options.deflateOffer { $0.clientMaxWindowBits = bits }
        case .soak:
            options.soakNanoseconds = try positiveDuration(value, for: spelling)
            options.durationNanoseconds = options.soakNanoseconds!
        case .sampleInterval: options.sampleIntervalNanoseconds = try positiveDuration(value, for: spelling)
        case .soakWarmUp:
            guard let warmUp = parseDuration(value) else {
                throw UsageError("\(spelling) needs a duration such as 30s, 5m or 0, got '\(value)'")
            }
            options.soakWarmUpNanoseconds = warmUp
        case .soakCSV:
            guard !value.isEmpty else { throw UsageError("\(spelling) needs a file name") }
            options.soakCSVPath = value
        case .keys: options.keyCount = try positiveInteger(value, for: spelling)
        case .slow: options.slowSubscribers = try nonNegativeInteger(value, for: spelling)
        case .slowSpeed:
            guard let speed = Double(value), speed > 0, speed <= 1 else {
                throw UsageError("\(spelling) needs a fraction of the publish rate above 0 and at most 1, such as 0.1, got '\(value)'")
            }
            options.slowSpeed = speed
        case .slowReceiveBuffer:
            guard let size = parseSize(value), size <= 1 << 30 else {
                throw UsageError("\(spelling) needs a size in bytes such as 8k (at most 1 GiB; 0: the kernel's), got '\(value)'")
            }
            options.slowReceiveBuffer = size
        case .allowLoss, .findMax, .deflate, .serverNoContextTakeover, .clientNoContextTakeover, .insecure:
            preconditionFailure("\(option) takes no value")
        }
    }

    /// Rules that involve more than one option.
    private static func checkCombinations(_ options: BenchOptions, given: [Option: String]) throws(UsageError) {
        let scenario = options.scenario
        for option in [Option.publishers, .rates, .findMax, .step] {
            if let spelling = given[option], !scenario.isRoom {
                throw UsageError("\(spelling) only applies to --scenario broadcast, sse, longpoll, events or ticker")
            }
        }
        for option in [Option.keys, .slow, .slowSpeed, .slowReceiveBuffer] {
            if let spelling = given[option], scenario != .ticker { throw UsageError("\(spelling) only applies to --scenario ticker") }
        }
        if scenario == .ticker { try checkTicker(options, given: given) }
        if let spelling = given[.webSocketSubscribers], !scenario.mixesTransports {
            throw UsageError("\(spelling) only applies to --scenario sse or longpoll")
        }
        if given[.deflate] == nil, let parameter = Option.allCases.first(where: { $0.isDeflateParameter && given[$0] != nil }) {
            throw UsageError("\(given[parameter]!) is a permessage-deflate parameter: add --deflate")
        }
        if options.payload == .ticker {
            guard scenario == .echo || scenario == .broadcast else {
                throw UsageError("--payload ticker applies to --scenario echo or broadcast (sse and longpoll carry their own text header)")
            }
            guard options.payloadSize >= TickerPayload.minimumSize else {
                throw UsageError("-s must be at least \(TickerPayload.minimumSize) bytes for --payload ticker: every message is "
                    + "a JSON object that carries the publisher, sequence number and send time, got \(options.payloadSize)")
            }
        }
        if scenario == .broadcast && options.payloadSize < MessageHeader.size {
            throw UsageError("-s must be at least \(MessageHeader.size) bytes for broadcast: every message carries "
                + "its publisher, sequence number and send time, got \(options.payloadSize)")
        }
        if scenario.sendsText && !(TextMessageHeader.size...scenario.maximumPayload).contains(options.payloadSize) {
            throw UsageError("-s must be \(TextMessageHeader.size)-\(scenario.maximumPayload) bytes for --scenario "
                + "\(scenario.rawValue): every message carries its publisher, sequence number and send time in hex, got \(options.payloadSize)")
        }
        if scenario.mixesTransports && RunPlan.room(ofURLPath: options.path) == nil {
            throw UsageError("--scenario \(scenario.rawValue) needs the room's URL, ws://HOST:PORT/room/NAME "
                + "(or /sse/NAME, /poll/NAME; / for room wsbench), got path '\(options.path)'")
        }
        if scenario.speaksEvents && RunPlan.eventsTarget(ofURLPath: options.path) == nil {
            throw UsageError("--scenario events needs the room's URL, ws://HOST:PORT/room/NAME "
                + "(or /events/ws?room=NAME; / for room wsbench), got path '\(options.path)'")
        }
        if scenario.isRoom && options.publishers > options.connections {
            throw UsageError("--publishers (\(options.publishers)) must not exceed the connections (\(options.connections))")
        }
        if scenario.mixesTransports && options.publishers + options.webSocketSubscribers > options.connections {
            throw UsageError("--publishers (\(options.publishers)) plus --ws-subscribers (\(options.webSocketSubscribers)) "
                + "must not exceed the connections (\(options.connections))")
        }
        if let rates = given[.rates], let findMax = given[.findMax] {
            throw UsageError("\(rates) and \(findMax) cannot be combined")
        }
        if let rate = given[.rate], let ladder = given[.rates] ?? given[.findMax] {
            throw UsageError("\(rate) cannot be combined with \(ladder), which chooses the rates itself")
        }
        if let step = given[.step], let ladder = given[.rates] ?? given[.findMax] {
            throw UsageError("\(step) cannot be combined with \(ladder)")
        }
        if let step = given[.step], given[.p95Limit] == nil {
            throw UsageError("\(step) needs --p95-limit")
        }
        if let limit = given[.p95Limit], given[.step] == nil {
            throw UsageError("\(limit) only applies to step mode (--step)")
        }
        if let insecure = given[.insecure], !options.secure {
            throw UsageError("\(insecure) only applies to a wss:// (or https://) URL")
        }
        if let soak = given[.soak] {
            if scenario == .connect { throw UsageError("\(soak) does not apply to --scenario connect") }
            if let other = given[.rates] ?? given[.findMax] ?? given[.step] ?? given[.duration] {
                throw UsageError("\(soak) cannot be combined with \(other) (a soak is one window of its own length)")
            }
            if let warmUp = options.soakWarmUpNanoseconds, let length = options.soakNanoseconds, warmUp >= length {
                throw UsageError("--soak-warmup must be shorter than the soak, or nothing is judged")
            }
        } else if let other = given[.sampleInterval] ?? given[.soakCSV] ?? given[.soakWarmUp] {
            throw UsageError("\(other) only applies to a soak (--soak)")
        }
    }

    /// The ticker's own rules.
    private static func checkTicker(_ options: BenchOptions, given: [Option: String]) throws(UsageError) {
        if options.messagesPerSecond == 0 && given[.rates] == nil && given[.findMax] == nil {
            throw UsageError("--scenario ticker needs a publish rate (-r R, --rates or --find-max): "
                + "a closed loop waits for every subscriber, and slow ones read at a fraction of the rate")
        }
        if let step = given[.step] { throw UsageError("\(step) does not apply to --scenario ticker") }
        if options.payloadSize < KeyedUpdate.size {
            throw UsageError("-s must be at least \(KeyedUpdate.size) bytes for --scenario ticker: every update carries "
                + "its publisher, sequence number, send time, key and value, got \(options.payloadSize)")
        }
        if options.keyCount < options.publishers {
            throw UsageError("--keys (\(options.keyCount)) must be at least --publishers (\(options.publishers)): each publisher updates keys of its own")
        }
        if options.keyCount > maximumKeyCount {
            throw UsageError("--keys must be at most \(maximumKeyCount) (each receiver keeps the value of every key), got \(options.keyCount)")
        }
        if options.slowSubscribers > options.connections - options.publishers {
            throw UsageError("--slow (\(options.slowSubscribers)) must not exceed the subscribers "
                + "(\(options.connections) connections less \(options.publishers) publishers)")
        }
        if options.slowSubscribers > 0 && options.secure {
            throw UsageError("--slow needs ws://: a slow subscriber takes whole frames from its socket itself, "
                + "leaving the rest in the kernel, which it cannot do under TLS (use --slow 0 over wss://)")
        }
    }

    /// Ticker: keys a run may have (each receiver keeps 4 bytes per key).
    static let maximumKeyCount = 1 << 20

    // MARK: - Values

    private static func nonNegativeInteger(_ text: String, for spelling: String) throws(UsageError) -> Int {
        guard let value = parseDecimal(text) else {
            throw UsageError("\(spelling) needs a non-negative integer, got '\(text)'")
        }
        return value
    }

    private static func positiveInteger(_ text: String, for spelling: String) throws(UsageError) -> Int {
        guard let value = parseDecimal(text), value > 0 else {
            throw UsageError("\(spelling) needs a positive integer, got '\(text)'")
        }
        return value
    }

    private static func positiveDuration(_ text: String, for spelling: String) throws(UsageError) -> UInt64 {
        guard let value = parseDuration(text), value > 0 else {
            throw UsageError("\(spelling) needs a positive duration such as 10s, 500ms or 2m, got '\(text)'")
        }
        return value
    }

    private static func windowBits(_ text: String, for spelling: String) throws(UsageError) -> Int {
        guard let bits = parseDecimal(text), PerMessageDeflate.windowBitsRange.contains(bits) else {
            throw UsageError("\(spelling) needs a window size from 8 to 15 (a base-2 logarithm), got '\(text)'")
        }
        return bits
    }

    private static func rateList(_ text: String, for spelling: String) throws(UsageError) -> [Int] {
        var rates: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let rate = parseDecimal(item), rate > 0 else {
                throw UsageError("\(spelling) needs positive rates separated by commas such as 500,1000,2000, got '\(text)'")
            }
            rates.append(rate)
        }
        return rates
    }

    // MARK: - URL

    /// Splits ws://host[:port][/path][?query] (or http://, with `allowingHTTP`; wss:// and https:// for TLS).
    /// IPv6 hosts go in brackets.
    private static func parseURL(_ url: String, allowingHTTP: Bool) throws(UsageError)
        -> (host: String, port: UInt16, path: String, secure: Bool) {
        let scheme = url.prefix { $0 != ":" }.lowercased()
        let secure = scheme == "wss" || scheme == "https"
        let web = scheme == "http" || scheme == "https"
        guard scheme == "ws" || scheme == "wss" || (web && allowingHTTP), url.dropFirst(scheme.count).hasPrefix("://") else {
            throw UsageError(allowingHTTP ? "the URL must start with ws://, wss://, http:// or https://, got '\(url)'"
                : "the URL must start with ws:// or wss:// (http:// and https:// only with --scenario sse or longpoll), got '\(url)'")
        }
        let afterScheme = url.dropFirst(scheme.count + 3)
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let target = afterScheme[authority.endIndex...]
        if target.contains("#") { throw UsageError("the URL must not have a #fragment, got '\(url)'") }
        if authority.contains("@") { throw UsageError("the URL must not carry user info, got '\(url)'") }

        let host: Substring
        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw UsageError("the URL's IPv6 host lacks a closing ']', got '\(url)'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            guard afterHost.isEmpty || afterHost.hasPrefix(":") else {
                throw UsageError("unexpected '\(afterHost)' after the URL's host, got '\(url)'")
            }
            portText = afterHost.isEmpty ? nil : afterHost.dropFirst()
        } else {
            let pieces = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = pieces[0]
            portText = pieces.count > 1 ? pieces[1] : nil
            if portText?.contains(":") == true {
                throw UsageError("an IPv6 host goes in brackets, e.g. ws://[::1]:8080/, got '\(url)'")
            }
        }
        guard !host.isEmpty else { throw UsageError("the URL needs a host, got '\(url)'") }
        var port: UInt16 = secure ? 443 : 80
        if let portText {
            guard let number = parseDecimal(portText), (1...65535).contains(number) else {
                throw UsageError("the URL's port must be 1-65535, got '\(portText)'")
            }
            port = UInt16(number)
        }
        let path = target.isEmpty ? "/" : target.hasPrefix("?") ? "/\(target)" : String(target)
        return (String(host), port, path, secure)
    }
}

extension UsageError {
    init(_ message: String) { self.message = message }
}

extension BenchOptions {
    /// Changes the permessage-deflate offer, making one if needed (the parameters need --deflate,
    /// which `checkCombinations` enforces whatever their order).
    mutating func deflateOffer(_ change: (inout PerMessageDeflate.ClientOffer) -> Void) {
        var offer = deflate ?? PerMessageDeflate.ClientOffer()
        change(&offer)
        deflate = offer
    }
}

// MARK: - Value parsers

/// Nanoseconds in a duration such as "10s", "500ms", "2m", "1.5s", "250us",
/// "100ns", "1h"; a bare number is seconds. Nil when malformed or beyond UInt64.
func parseDuration(_ text: String) -> UInt64? {
    let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
    let unit: UInt64
    switch text[number.endIndex...] {
    case "", "s": unit = nanosecondsPerSecond
    case "ms": unit = 1_000_000
    case "us", "\u{B5}s", "\u{3BC}s": unit = 1_000  // micro sign and Greek mu
    case "ns": unit = 1
    case "m": unit = 60 * nanosecondsPerSecond
    case "h": unit = 3_600 * nanosecondsPerSecond
    default: return nil
    }
    let pieces = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    guard let whole = parseDecimal(pieces[0], as: UInt64.self) else { return nil }
    let (wholeNanoseconds, overflow) = whole.multipliedReportingOverflow(by: unit)
    guard !overflow else { return nil }
    guard pieces.count == 2 else { return wholeNanoseconds }
    // Fraction digits scale down from the unit; below a nanosecond they vanish.
    let fraction = pieces[1]
    guard !fraction.isEmpty, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    var fractionNanoseconds: UInt64 = 0
    var scale = unit
    for digit in fraction.utf8 {
        scale /= 10
        fractionNanoseconds += UInt64(digit - UInt8(ascii: "0")) * scale
    }
    let (total, totalOverflow) = wholeNanoseconds.addingReportingOverflow(fractionNanoseconds)
    return totalOverflow ? nil : total
}

/// Bytes in a size such as "64", "64b", "1k", "16KiB", "2MB"; k and m are
/// binary (×1024, ×1024²) in every spelling. Nil when malformed or beyond Int.
func parseSize(_ text: String) -> Int? {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    let multiplier: Int
    switch text[digits.endIndex...].lowercased() {
    case "", "b": multiplier = 1
    case "k", "kb", "kib": multiplier = 1 << 10
    case "m", "mb", "mib": multiplier = 1 << 20
    default: return nil
    }
    guard let count = parseDecimal(digits) else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : bytes
}

/// IPv4 addresses in host byte order (127.0.0.1 is 0x7F00_0001) from
/// "127.0.0.2", "127.0.0.2-127.0.0.40" or "127.0.0.2-40" (last octet).
/// Nil when malformed, reversed or longer than `BenchOptionsParser.maximumAddressRangeCount`.
func parseAddressRange(_ text: String) -> [UInt32]? {
    let ends = text.split(separator: "-", omittingEmptySubsequences: false)
    guard let first = parseIPv4(ends[0]) else { return nil }
    switch ends.count {
    case 1:
        return [first]
    case 2:
        let last: UInt32
        if ends[1].contains(".") {
            guard let address = parseIPv4(ends[1]) else { return nil }
            last = address
        } else {
            guard let octet = parseOctet(ends[1]) else { return nil }
            last = (first & 0xFFFF_FF00) | octet
        }
        guard first <= last, last - first < BenchOptionsParser.maximumAddressRangeCount else { return nil }
        return Array(first...last)
    default:
        return nil
    }
}

/// Dotted-quad text of an address in host byte order.
func formatIPv4(_ address: UInt32) -> String {
    "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
}

/// Four decimal octets; a leading zero is refused because inet_aton would
/// read "010" as octal.
private func parseIPv4(_ text: Substring) -> UInt32? {
    let octets = text.split(separator: ".", omittingEmptySubsequences: false)
    guard octets.count == 4 else { return nil }
    var address: UInt32 = 0
    for text in octets {
        guard let octet = parseOctet(text) else { return nil }
        address = address << 8 | octet
    }
    return address
}

private func parseOctet(_ text: Substring) -> UInt32? {
    guard text.count <= 3, text == "0" || !text.hasPrefix("0"),
          let value = parseDecimal(text), value <= 255 else { return nil }
    return UInt32(value)
}

/// Plain ASCII digits only: no sign, no spaces, no underscores. Nil on overflow.
private func parseDecimal<Integer: FixedWidthInteger>(_ text: some StringProtocol, as _: Integer.Type = Int.self) -> Integer? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        return nil
    }
    return Integer(text)
}
