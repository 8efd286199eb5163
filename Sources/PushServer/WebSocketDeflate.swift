import Broadcast
import Reactor
import WebSocketCodec

// permessage-deflate (RFC 7692) on the server's WebSockets. The server never keeps a compression
// context (it always answers server_no_context_takeover), so nothing it compresses belongs to
// one connection: a room message is deflated once on the room's home loop for every member that
// agreed (the broadcaster's deflate format), and a direct send by the loop's compressor for the
// connection's window. What clients send is inflated by one inflater per loop, reset after each
// message, unless a client keeps its context (only when the policy lets it): that one has an
// inflater of its own. A connection holds one byte of all this.

/// What a WebSocket agreed about permessage-deflate, kept in its `ConnectionState`: nothing, or
/// the window the server compresses with and whether the client keeps its context.
struct DeflateAgreement: Equatable {
    /// 0: not agreed; else the window bits (8-15) in the low nibble and `ownInflaterBit`.
    private var bits: UInt8 = 0
    private static let ownInflaterBit: UInt8 = 0x80

    static let none = DeflateAgreement()

    private init() {}

    init(_ parameters: PerMessageDeflate.Parameters) {
        bits = parameters.serverMaxWindowBits | (parameters.peerKeepsContext(as: .server) ? Self.ownInflaterBit : 0)
    }

    var isOn: Bool { bits != 0 }
    /// The largest window the server may compress this connection's messages with.
    var windowBits: Int { Int(bits & 0x0F) }
    /// The client keeps its context: its messages need its own inflater (`LoopDeflate`'s side table).
    var hasOwnInflater: Bool { bits & Self.ownInflaterBit != 0 }
}

/// The server's permessage-deflate, fixed when it starts (`ServerConfiguration.deflate`): what it
/// accepts, and the room format of the connections that agreed to it.
struct ServerDeflate: Sendable {
    let policy: PerMessageDeflate.ServerPolicy
    /// Room messages deflated once for every member that joined in it.
    let roomFormat: WireFormat
    /// The window the room format's frames are compressed with: a connection that agreed to a
    /// smaller one joins rooms in the plain format, which it reads as well.
    let roomWindowBits: Int

    /// Registers the room format with the server's formats.
    init(policy: PerMessageDeflate.ServerPolicy, formats: inout WireFormatRegistry) {
        self.policy = policy
        roomWindowBits = policy.serverMaxWindowBits
        roomFormat = formats.register(WebSocketDeflateEncoder(windowBits: policy.serverMaxWindowBits))
    }

    /// What to answer the upgrade's `Sec-WebSocket-Extensions` offers with; a header that breaks
    /// RFC 6455 §9.1 is a 400.
    func negotiate(_ head: HTTPRequestHead) -> Result<NegotiatedExtensions, HandshakeRejection> {
        ExtensionNegotiation.accept(head, supported: [policy])
    }
}

/// permessage-deflate on one loop: the state every deflate connection of the loop borrows.
final class LoopDeflate {
    let server: ServerDeflate
    /// Inflates the messages of every client that compresses each on its own: all of them under
    /// the default policy. Its output is valid until its next use, which only the next read makes.
    let inflater = MessageInflater.sharedPerLoop()
    /// Direct sends (echoes, session packets): one compressor per window agreed, by
    /// `windowBits - 8`, each made on first use. In practice one, 15.
    private var encoders = [DeflateFrameEncoder?](repeating: nil, count: PerMessageDeflate.windowBitsRange.count)
    /// The clients that keep their context (only when the policy does not require them not to),
    /// with an inflater each. Never inline in `ConnectionState`, which every read copies.
    private var ownInflaters: [ConnectionID: MessageInflater] = [:]

    init(_ server: ServerDeflate) { self.server = server }

    /// Records what `connection` agreed in `negotiated` (its 101 is on its way), if anything.
    func agreed(_ negotiated: NegotiatedExtensions, by connection: ServerConnection) {
        guard let parameters = server.policy.parameters(negotiated) else { return }
        let agreement = DeflateAgreement(parameters)
        connection.context.deflate = agreement
        if agreement.hasOwnInflater { ownInflaters[connection.id] = MessageInflater.forConnection(parameters, as: .server) }
    }

    func closed(_ connection: ServerConnection) {
        if connection.context.deflate.hasOwnInflater { ownInflaters[connection.id] = nil }
    }

    /// What inflates the messages of `connection`, which agreed to permessage-deflate.
    @inline(__always)
    func inflater(for connection: ServerConnection) -> MessageInflater {
        guard connection.context.deflate.hasOwnInflater, let own = ownInflaters[connection.id] else { return inflater }
        return own
    }

    /// The compressor of direct sends to a connection that agreed to `windowBits`.
    @inline(__always)
    func encoder(windowBits: Int) -> DeflateFrameEncoder {
        let slot = windowBits - PerMessageDeflate.windowBitsRange.lowerBound
        if let encoder = encoders[slot] { return encoder }
        let made = DeflateFrameEncoder(windowBits: windowBits)
        encoders[slot] = made
        return made
    }

    /// The format a connection with this agreement joins rooms in.
    func roomFormat(for agreement: DeflateAgreement) -> WireFormat {
        agreement.isOn && agreement.windowBits >= server.roomWindowBits ? server.roomFormat : .webSocket
    }
}

extension ServerHandler {
    /// The upgrade's extensions: none when the server offers none (the header is not even read).
    func negotiateExtensions(_ head: HTTPRequestHead) -> Result<NegotiatedExtensions, HandshakeRejection> {
        deflate?.server.negotiate(head) ?? .success(.none)
    }

    /// The format a WebSocket joins rooms in: deflated frames when it agreed to a window they suit.
    func webSocketFormat(of connection: ServerConnection) -> WireFormat {
        deflate?.roomFormat(for: connection.context.deflate) ?? .webSocket
    }
}
