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
/// subscriber's loop, its wire format and its place in that format's member
/// list. 8 bytes.
public struct RoomMembership: Hashable, Sendable {
    public let room: UInt32
    /// The format in the top two bits, the position in the rest.
    private let formatAndPosition: UInt32

    public init(room: UInt32, position: UInt32, format: WireFormat = .webSocket) {
        precondition(position < 1 << 30, "more than 2^30 members of one format in one room on one loop")
        self.room = room
        formatAndPosition = UInt32(format.rawValue) << 30 | position
    }

    public var position: UInt32 { formatAndPosition & (1 << 30 - 1) }
    public var format: WireFormat { WireFormat(rawValue: Int(formatAndPosition >> 30))! }
}
