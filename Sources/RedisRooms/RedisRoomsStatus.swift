import Broadcast
import Reactor
import Redis
import Synchronization

/// Running totals of one node's Redis rooms.
public struct RedisRoomsCounters: Sendable, Equatable {
    /// Publishes sent to Redis, and how they ended.
    public var published = 0
    public var acknowledged = 0
    /// Refused before they were sent: Redis was unavailable (HTTP 503 for /publish).
    public var unavailable = 0
    /// Sent, and the connection was lost before Redis answered (HTTP 504).
    public var outcomeUnknown = 0
    /// Redis answered with an error.
    public var refused = 0
    /// Messages that came on the rooms' channels, and those that were not ours (not decoded).
    public var received = 0
    public var malformed = 0
    /// Fetches from rooms' streams (gap fills and resumes), and the entries they brought.
    public var fetches = 0
    public var fetched = 0
    /// Times the rooms were synchronized again after a reconnection.
    public var resynchronizations = 0

    public init() {}
}

/// What `/stats` shows of a node's Redis rooms: a snapshot, refreshed on the
/// Redis loop, read from anywhere.
public struct RedisRoomsStatus: Sendable {
    public var node: String
    public var url: String
    public var connection = RedisConnectionStatus()
    public var counters = RedisRoomsCounters()
    /// Summed over the node's loops (refreshed every second).
    public var sequencing = SequencingStatistics()
    /// Rooms this node listens to (it has members of them).
    public var listened = 0
    /// Nodes whose presence is alive, as last read.
    public var clusterNodes = 0

    init(node: String, url: String) {
        self.node = node
        self.url = url
    }

    /// A JSON object (README, "Rooms across nodes").
    public var json: String {
        let now = monotonicNanoseconds()
        let c = counters, s = sequencing, link = connection
        var text = "{\"kind\":\"redis\",\"node\":\(JSONText.quoted(node)),\"redis\":\(JSONText.quoted(url)),"
        text += "\"state\":\"\(link.state)\",\"stateSeconds\":\(JSONText.seconds(now &- link.since)),"
        text += "\"reconnectAttempts\":\(link.reconnectAttempts),\"outages\":\(link.outages),"
        text += "\"lastOutageSeconds\":\(JSONText.seconds(link.lastOutageNanoseconds)),"
        text += "\"downtimeSeconds\":\(JSONText.seconds(link.totalDowntimeNanoseconds)),"
        text += "\"lastError\":\(link.lastError.map(JSONText.quoted) ?? "null"),"
        text += "\"rooms\":\(listened),\"clusterNodes\":\(clusterNodes),"
        text += "\"publishes\":{\"sent\":\(c.published),\"acknowledged\":\(c.acknowledged),\"unavailable\":\(c.unavailable),"
        text += "\"outcomeUnknown\":\(c.outcomeUnknown),\"refused\":\(c.refused)},"
        text += "\"received\":\(c.received),\"malformed\":\(c.malformed),\"fetches\":\(c.fetches),\"fetched\":\(c.fetched),"
        text += "\"resynchronizations\":\(c.resynchronizations),"
        text += "\"sequencing\":{\"duplicates\":\(s.duplicates),\"fills\":\(s.fills),\"backendReplays\":\(s.backendReplays),"
        text += "\"missed\":\(s.missed),\"startedOver\":\(s.startedOver)}}"
        return text
    }
}

/// Where the Redis loop leaves what the node shows, for any thread to read.
final class RedisRoomsBoard: Sendable {
    let status: Mutex<RedisRoomsStatus>
    let presence = Mutex(ClusterPresence())

    init(_ status: RedisRoomsStatus) { self.status = Mutex(status) }
}

/// The rooms of the cluster as the nodes' presence shows them.
public struct ClusterPresence: Sendable, Equatable {
    /// Live nodes, and each one's rooms with their members there.
    public var nodes: [String: [String: Int]] = [:]

    public init() {}

    /// Every room of the cluster, and its members on all nodes.
    public var rooms: [String: Int] {
        var total: [String: Int] = [:]
        for rooms in nodes.values {
            for (room, members) in rooms { total[room, default: 0] += members }
        }
        return total
    }

    /// `{"nodes":{"ID":{"ROOM":N,…},…},"rooms":{"ROOM":N,…}}`, names sorted.
    public var json: String {
        func object(_ counts: [String: Int]) -> String {
            "{" + counts.keys.sorted().map { "\(JSONText.quoted($0)):\(counts[$0]!)" }.joined(separator: ",") + "}"
        }
        let nodeEntries = nodes.keys.sorted().map { "\(JSONText.quoted($0)):\(object(nodes[$0]!))" }
        return "{\"nodes\":{\(nodeEntries.joined(separator: ","))},\"rooms\":\(object(rooms))}"
    }
}

/// The few JSON pieces this module writes.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}", "\u{2029}": out += "\\u\(String(scalar.value, radix: 16))"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Nanoseconds as seconds with three decimals.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let milliseconds = (nanoseconds + 500_000) / 1_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
