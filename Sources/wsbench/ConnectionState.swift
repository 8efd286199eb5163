import Reactor
import WebSocketCodec

/// What a connection does in the run, decided by its number when it opens.
enum ConnectionRole: UInt8 {
    /// Echo scenario: sends and times its own round trips.
    case echo
    /// Broadcast: joins the room and checks every publisher's sequence.
    case subscriber
    /// Broadcast: a subscriber (of the other publishers, `?self=0`) that also publishes.
    case publisher
    /// Connect scenario: handshakes, then closes.
    case probe
    /// sse: a subscriber reading the room's event stream.
    case eventStreamSubscriber
    /// longpoll: a subscriber polling the room.
    case pollingSubscriber

    var transport: Transport {
        switch self {
        case .eventStreamSubscriber: .eventStream
        case .pollingSubscriber: .longPolling
        case .echo, .subscriber, .publisher, .probe: .webSocket
        }
    }

    /// A member of the room that checks every publisher's messages.
    var isRoomReceiver: Bool {
        switch self {
        case .subscriber, .publisher, .eventStreamSubscriber, .pollingSubscriber: true
        case .echo, .probe: false
        }
    }
}

enum ConnectionPhase: UInt8 {
    case connecting
    case handshaking
    /// events: upgraded, the session opening under way (the server's `open`,
    /// our `connect`, its answer). Still counted as handshaking.
    case joining
    case open
    /// Our close frame is out (or, over SSE and polling, our end of stream);
    /// waiting for the server's close frame and its end of stream.
    case closing
    /// Already counted as failed; whatever happens next is not counted again.
    case failed
}

/// One connection's state, inline in the loop's connection table: no
/// per-connection object. The handshake, needed only briefly, lives in the
/// loop's `handshakes` list.
struct ConnectionState: ConnectionContext {
    var phase = ConnectionPhase.connecting
    var role = ConnectionRole.echo
    /// The reader holds a fragment or a streamed frame: the fast path must wait.
    var readerBusy = false
    var closeFrameReceived = false
    /// Row of this receiver in the loop's tracker table (broadcast), and its
    /// position among the loop's senders (open-loop echo).
    var localIndex: UInt32 = 0
    /// Publisher number (broadcast) or connection number (echo) in message headers.
    var senderID: UInt32 = 0
    var connectStarted: UInt64 = 0
    /// Sequence number of the next message this connection sends.
    var nextSequence: UInt64 = 0
    /// Closed loop: when the message in flight left. Open loop: when the
    /// current window's first message of this sender was due (small echo payloads).
    var lastSendTime: UInt64 = 0
    var windowFirstSequence: UInt64 = 0
    /// Echo: the replies' sequence.
    var replies = SequenceTracker()
    var reader = WebSocketReader()
    /// sse: chunk and line state of the event stream.
    var eventStream = EventStreamReader()
    /// longpoll: the response being read, and the room sequence the next poll starts after.
    var poll = PollResponseReader()

    init() {}
}
