import Reactor

/// A subscriber anywhere in the group: its loop and its connection there.
public struct SubscriberID: Hashable, Sendable, CustomStringConvertible {
    public let loop: Int
    public let connection: ConnectionID

    public init(loop: Int, connection: ConnectionID) {
        self.loop = loop
        self.connection = connection
    }

    public var description: String { "\(loop).\(connection)" }
}

/// What a subscriber holds to leave a room later: the room's index on the
/// subscriber's loop and its place in the member list. 8 bytes.
public struct RoomMembership: Hashable, Sendable {
    public let room: UInt32
    public let position: UInt32

    public init(room: UInt32, position: UInt32) {
        self.room = room
        self.position = position
    }
}
