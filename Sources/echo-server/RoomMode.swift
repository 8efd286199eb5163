import Broadcast
import PushServer
import RedisRooms
import WebSocketCodec

/// echo-server's room mode: `/room/NAME` joins room NAME and publishes every
/// message it sends there. The query tunes the connection:
/// - `self=0`: the sender does not get its own messages;
/// - `conflate=1`: while this member is behind, it gets the newest message of
///   each key, not every one; `rate=N`: at most N updates a second per key;
/// - `volatile=1`: what it publishes is volatile (not sent to members behind);
/// - `keyAt=OFFSET:LENGTH`: the key of what it publishes is those bytes of
///   each message (read as UTF-8), for a feed of keyed updates.
enum RoomMode {
    static let prefix = "/room/"

    /// The room a `/room/NAME` path names, decoded as the HTTP routes decode
    /// theirs (so `/room/a%20b` and `/sse/a%20b` are one room); nil if malformed.
    static func roomName(from path: String) -> String? {
        URLComponent.roomName(path.dropFirst(prefix.count))
    }

    /// What a connection's query asks for; nil when something in it is malformed.
    struct Member {
        var includeSelf = true
        var subscription = SubscriptionOptions()
        var publishesVolatile = false
        var keyAt: Range<Int>?

        init?(query: String?) {
            guard let subscription = SubscriptionOptions(query: query) else { return nil }
            self.subscription = subscription
            guard let query else { return }
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                let value = parts.count > 1 ? String(parts[1]) : ""
                switch parts.first {
                case "self": includeSelf = value != "0"
                case "volatile": publishesVolatile = value == "1"
                case "keyAt":
                    let bounds = value.split(separator: ":").compactMap { Int($0) }
                    guard bounds.count == 2, bounds[0] >= 0, bounds[1] > 0, bounds[1] <= 256 else { return nil }
                    keyAt = bounds[0]..<(bounds[0] + bounds[1])
                default: continue
                }
            }
        }

        /// Whether it needs more than the plain room-mode member (kept per connection only then).
        var isPlain: Bool { includeSelf && subscription.isDefault && !publishesVolatile && keyAt == nil }

        /// The message it publishes for `payload`.
        func message(opcode: Opcode, payload: [UInt8]) -> BroadcastMessage {
            var key: String?
            if let keyAt, payload.count >= keyAt.upperBound { key = String(decoding: payload[keyAt], as: UTF8.self) }
            return BroadcastMessage(opcode: opcode, payload: payload, key: key, isVolatile: publishesVolatile)
        }
    }

    /// A member's query, kept on its connection.
    final class MemberOptions {
        let member: Member
        init(_ member: Member) { self.member = member }
    }

    /// Why a room WebSocket is closed with 1013 (at most 123 bytes).
    static func closeReason(for error: PublishError) -> String {
        switch error {
        case .outcomeUnknown: "publish outcome unknown: Redis was lost; try again later"
        case .unavailable: "not published: Redis is unavailable; try again later"
        case .refused: "not published: Redis refused it; try again later"
        }
    }

    /// `GET /cluster`: `{"node":"ID","nodes":{...},"rooms":{...}}`.
    static func clusterJSON(node: String, _ presence: ClusterPresence) -> String {
        let body = presence.json
        return "{\"node\":\"\(node)\"," + body.dropFirst()
    }
}
