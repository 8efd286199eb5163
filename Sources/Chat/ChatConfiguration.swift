/// The chat's limits. Every default is listed in the README (chat-server).
public struct ChatConfiguration: Sendable {
    /// Messages a user gets on entering: the newest it may see, oldest first (1–1,000).
    public var historyCount = 20
    /// Longest name, in characters (Unicode code points).
    public var maxNameLength = 32
    /// Longest message (chat room or friend chat), in characters (Unicode code points).
    public var maxMessageLength = 2000
    /// Longest room name, in characters.
    public var maxRoomNameLength = 32
    /// Rooms one connection may be in at once.
    public var maxRooms = 16
    /// The flood limit: events one connection may send per second, on
    /// average (a token bucket refilled at this rate); 0 turns it off.
    public var floodRate = 5
    /// ...and in one burst (the bucket's size).
    public var floodBurst = 10
    /// Writes waiting for the store above which new messages are refused
    /// ("busy"), so a store that falls behind sheds load instead of queueing without bound.
    public var maxPendingWrites = 10_000
    /// Largest page of a friend conversation a client may ask for.
    public var maxConversationPage = 200

    public init() {}
}
