import Glibc
import Redis

/// How a node takes part in rooms that span nodes through Redis. Every
/// default is listed in the README.
public struct RedisRoomsConfiguration: Sendable {
    /// The Redis every node of the cluster uses, and how this node's connection behaves.
    public var redis: RedisConfiguration
    /// This node's name in the cluster: in every message it publishes (so it knows its own
    /// exclusions), and in presence. Letters, digits, `.`, `_`, `-`; at most 64.
    public var nodeID: String
    /// Every key and channel begins with this and a colon.
    public var keyPrefix = "fanout"
    /// Entries a room's stream keeps (`XADD … MAXLEN ~`): how far back a client can resume on
    /// any node, and a gap can be filled.
    public var streamLength = 10_000
    /// A room's stream is dropped after this long without a publish (`PEXPIRE`, renewed by each
    /// one); its sequence key stays, so numbering goes on. Zero keeps streams forever.
    public var streamLifetime: Duration = .seconds(86_400)
    /// Entries asked for at a time when filling a gap.
    public var fillBatch = 1_000
    /// How often the node writes its presence (and reads the cluster's).
    public var presenceInterval: Duration = .seconds(5)
    /// A node's presence expires this long after it was last written: a dead node leaves it.
    public var presenceLifetime: Duration = .seconds(15)

    /// With no `nodeID`, one is made up (`node-` and 12 random hex digits).
    public init(redis: RedisConfiguration, nodeID: String? = nil) throws(RedisConfigurationError) {
        self.redis = redis
        if let nodeID {
            guard Self.isValid(nodeID: nodeID) else {
                throw RedisConfigurationError("a node id is 1 to 64 letters, digits, '.', '_' or '-', not '\(nodeID)'")
            }
            self.nodeID = nodeID
        } else {
            self.nodeID = Self.generatedNodeID()
        }
        if self.redis.clientName == nil { self.redis.clientName = "fanout-\(self.nodeID)" }
    }

    public static func isValid(nodeID: String) -> Bool {
        (1...64).contains(nodeID.utf8.count) && nodeID.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    static func generatedNodeID() -> String {
        var random = SystemRandomNumberGenerator()
        let value = random.next() & 0xFFFF_FFFF_FFFF
        let hex = String(value, radix: 16)
        return "node-" + String(repeating: "0", count: 12 - hex.count) + hex
    }
}

/// The names of what the cluster keeps in Redis (README, "Rooms across nodes").
struct RedisRoomKeys: Sendable {
    let prefix: String

    /// The room's channel: `PREFIX:{ROOM}` (the braces are a hash tag: a room's keys and
    /// channel share one slot in a Redis Cluster).
    func channel(_ room: String) -> String { "\(prefix):{\(room)}" }
    /// Its sequence: `INCR` gives each message its number.
    func sequence(_ room: String) -> String { "\(prefix):{\(room)}:seq" }
    /// Its stream: one entry per message, id `SEQ-0`, field `m`.
    func stream(_ room: String) -> String { "\(prefix):{\(room)}:log" }
    /// The room a channel of ours names, or nil.
    func room(ofChannel channel: String) -> String? {
        let head = "\(prefix):{"
        guard channel.hasPrefix(head), channel.hasSuffix("}") else { return nil }
        return String(channel.dropFirst(head.count).dropLast())
    }

    /// The set of node ids that wrote presence.
    var nodes: String { "\(prefix):nodes" }
    /// A node's presence: what it is, expiring unless renewed.
    func node(_ id: String) -> String { "\(prefix):node:\(id)" }
    /// A node's rooms and their members there: a hash, expiring with the node.
    func nodeRooms(_ id: String) -> String { "\(prefix):node:\(id):rooms" }
}

/// The scripts, each run with EVALSHA (loaded on every connection).
enum RoomScripts {
    /// KEYS: sequence, stream. ARGV: channel, MAXLEN, stream lifetime in ms (0: none), the
    /// encoded message. Numbers it, keeps it, publishes `SEQ ENCODED`, returns SEQ; all or
    /// nothing but for a failure in the middle (then SEQ is a number no message has).
    static let publish = """
        local seq = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'm', ARGV[4])
        if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
        redis.call('PUBLISH', ARGV[1], seq .. ' ' .. ARGV[4])
        return seq
        """

}
