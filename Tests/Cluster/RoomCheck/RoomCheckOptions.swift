import Glibc
import Reactor

/// room-check's command line.
struct RoomCheckOptions {
    var nodes: [SocketAddress] = []
    var nodeNames: [String] = []
    var room = "cluster-check"
    var subscribersPerNode = 1000
    var publishersPerNode = 1
    var messages = 10_000
    var rate = 1000.0
    var size = 64
    var token = ""
    var threads = 2
    var drainTimeout: Double = 30
    var jsonPath: String?
    var serverPIDs: [String] = []
    var redisPID: String?

    struct UsageError: Error {
        let message: String
    }

    static let usage = """
    usage: room-check --node HOST:PORT [--node HOST:PORT...] [options]

    Subscribes over WebSocket (/room/NAME) to one room on every node, publishes
    over POST /publish/NAME from every node, and checks that every subscriber
    got every acknowledged (202) message exactly once, none that was refused
    (503), each unknown one (504) everywhere or nowhere, and all in one order:
    the order of the sequence numbers the 202s carried.

      --node HOST:PORT        a node (repeat; subscribers and publishers are spread evenly)
      --room NAME             the room                                  default cluster-check
      --subscribers N         WebSocket subscribers per node            default 1000
      --publishers N          publishing connections per node           default 1
      --messages N            messages in all, over every publisher     default 10000
      --rate R                messages per second in all (open loop)    default 1000
      --size BYTES            message size, 40 or more                  default 64
      --token TOKEN           the nodes' --publish-token
      --threads N             event loops                               default 2
      --drain-timeout SECS    give up when no answer (or no delivery) came for this long
                                                                        default 30
      --server-pid PID        a node's process, in --node order (repeat): CPU per delivery
      --redis-pid PID         Redis's process: its CPU
      --json FILE             also write the results as JSON

    Exit status: 0 passed, 1 failed (a check above, a subscriber lost), 2 usage, 3 cannot run.
    """

    static func parse(_ arguments: [String]) throws(UsageError) -> RoomCheckOptions? {
        var options = RoomCheckOptions()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            func value() throws(UsageError) -> String {
                guard let next = remaining.popFirst() else { throw UsageError(message: "\(argument) needs a value") }
                return next
            }
            func number(_ range: ClosedRange<Int>) throws(UsageError) -> Int {
                let text = try value()
                guard let number = Int(text), range.contains(number) else {
                    throw UsageError(message: "\(argument) needs a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
                }
                return number
            }
            switch argument {
            case "-h", "--help": return nil
            case "--node":
                let text = try value()
                guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                      let address = try? SocketAddress(host: String(text[..<colon]), port: port) else {
                    throw UsageError(message: "--node takes HOST:PORT, got '\(text)'")
                }
                options.nodes.append(address)
                options.nodeNames.append(text)
            case "--room": options.room = try value()
            case "--subscribers": options.subscribersPerNode = try number(0...20_000)
            case "--publishers": options.publishersPerNode = try number(1...256)
            case "--messages": options.messages = try number(1...100_000_000)
            case "--rate":
                let text = try value()
                guard let rate = Double(text), rate > 0, rate.isFinite else { throw UsageError(message: "--rate needs a positive number, got '\(text)'") }
                options.rate = rate
            case "--size": options.size = try number(40...65_536)
            case "--token": options.token = try value()
            case "--threads": options.threads = try number(1...64)
            case "--drain-timeout": options.drainTimeout = Double(try number(1...3600))
            case "--server-pid": options.serverPIDs.append(try value())
            case "--redis-pid": options.redisPID = try value()
            case "--json": options.jsonPath = try value()
            default: throw UsageError(message: "unknown option \(argument)")
            }
        }
        guard !options.nodes.isEmpty else { throw UsageError(message: "give at least one --node") }
        guard options.room.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "?") }) else {
            throw UsageError(message: "--room: printable ASCII without '/', '%' or '?', please")
        }
        guard options.serverPIDs.isEmpty || options.serverPIDs.count == options.nodes.count else {
            throw UsageError(message: "give one --server-pid per --node, in the same order")
        }
        return options
    }

    var publisherCount: Int { publishersPerNode * nodes.count }
    var subscriberCount: Int { subscribersPerNode * nodes.count }
    /// Messages each publisher sends (the last ones may send fewer).
    var perPublisher: Int { (messages + publisherCount - 1) / publisherCount }

    /// How many messages publisher `index` sends.
    func messages(of publisher: Int) -> Int {
        max(0, min(perPublisher, messages - publisher * perPublisher))
    }
}
