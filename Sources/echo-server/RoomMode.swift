import Broadcast
import PushServer
import RedisRooms

/// echo-server's room mode: `/room/NAME` joins room NAME and publishes every
/// message it sends there; `?self=0` leaves the sender out of its own messages.
enum RoomMode {
    static let prefix = "/room/"
    static let excludeSelfTag: UInt32 = 1

    /// The room a `/room/NAME` path names, decoded as the HTTP routes decode
    /// theirs (so `/room/a%20b` and `/sse/a%20b` are one room); nil if malformed.
    static func roomName(from path: String) -> String? {
        URLComponent.roomName(path.dropFirst(prefix.count))
    }

    static func excludesSelf(_ query: String?) -> Bool {
        guard let query else { return false }
        return query.split(separator: "&").contains("self=0")
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
