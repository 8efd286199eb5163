import Reactor

/// A subscriber anywhere in the group: its loop, and the id the delivery sink
/// of its wire format knows it by there (a connection's; a session's for the
/// formats of sessions, which outlive connections). It means something in its
/// broadcaster only: every server numbers alike (`Broadcaster.bootID` tells them apart).
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
    /// The format in the top five bits (`WireFormat.maximumCount` is 32), the position in the rest.
    private let formatAndPosition: UInt32
    private static let positionBits: UInt32 = 27

    public init(room: UInt32, position: UInt32, format: WireFormat = .webSocket) {
        precondition(position < 1 << Self.positionBits, "more than 2^27 members of one format in one room on one loop")
        self.room = room
        formatAndPosition = UInt32(format.index) << Self.positionBits | position
    }

    public var position: UInt32 { formatAndPosition & (1 << Self.positionBits - 1) }
    public var format: WireFormat { WireFormat(index: Int(formatAndPosition >> Self.positionBits)) }
}
