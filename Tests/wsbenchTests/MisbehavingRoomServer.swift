import Reactor
import Synchronization
import WebSocketCodec

/// A one-loop room server for tests, built like echo-server's room mode
/// (`/room/NAME`, `?self=0`), that misbehaves on purpose toward one
/// receiver: it drops, repeats or swaps one message of publisher 0. With a
/// permessage-deflate policy it negotiates the extension and sends a room
/// message as PushServer will: deflated once, the same frame to every member
/// that agreed, the plain frame to the others.
final class MisbehavingRoomServer: ConnectionHandler {
    enum Fault: Sendable {
        case none
        case drop(sequence: UInt64)
        case repeatOnce(sequence: UInt64)
        /// Holds `sequence` back and sends it after the next one.
        case swap(sequence: UInt64)
    }

    struct Context: ConnectionContext {
        var upgraded = false
        var excludesSelf = false
        var parser = HTTPHeadParser()
        var reader = WebSocketReader()
        var deflate = false
    }

    let fault: Fault
    let deflatePolicy: PerMessageDeflate.ServerPolicy?
    /// Compresses each room message once for every member that negotiated permessage-deflate.
    let encoder = DeflateFrameEncoder()
    private let inflater = MessageInflater.sharedPerLoop()
    /// Room members in the order they joined; the first one that is not a publisher gets the fault.
    private var members: [ConnectionID] = []
    private var victim: ConnectionID?
    private var heldBack: [UInt8]?

    init(fault: Fault, deflate: PerMessageDeflate.ServerPolicy? = nil) {
        self.fault = fault
        deflatePolicy = deflate
    }

    /// Serves on a new one-loop group; returns it with the port.
    static func start(fault: Fault, deflate: PerMessageDeflate.ServerPolicy? = nil) throws -> (EventLoopGroup, Int) {
        let group = try EventLoopGroup(loopCount: 1)
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in MisbehavingRoomServer(fault: fault, deflate: deflate) }
        return (group, server.port)
    }

    func connectionOpened(_ connection: Connection<MisbehavingRoomServer>) {}

    func connection(_ connection: Connection<MisbehavingRoomServer>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        if !connection.context.upgraded {
            switch connection.context.parser.parse(UnsafeRawBufferPointer(bytes)) {
            case .needMore:
                return 0
            case .invalid:
                connection.close()
                return bytes.count
            case .complete(let head, let headLength):
                guard case .success(let request) = ServerHandshake.validate(head), request.path.hasPrefix("/room/"),
                      case .success(let negotiated) = ExtensionNegotiation.accept(head, supported: deflatePolicy.map { [$0] } ?? []) else {
                    connection.close()
                    return bytes.count
                }
                connection.write(ServerHandshake.response(
                    acceptKey: ServerHandshake.acceptValue(forKey: request.key), subprotocol: nil, extensions: negotiated))
                connection.context.deflate = deflatePolicy?.parameters(negotiated) != nil
                connection.context.upgraded = true
                connection.context.excludesSelf = request.query?.split(separator: "&").contains("self=0") ?? false
                members.append(connection.id)
                if victim == nil && !connection.context.excludesSelf { victim = connection.id }
                return headLength + frames(connection, UnsafeMutableRawBufferPointer(rebasing: bytes[headLength...]))
            }
        }
        return frames(connection, bytes)
    }

    private func frames(_ connection: Connection<MisbehavingRoomServer>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        while connection.isOpen {
            let input = UnsafeMutableRawBufferPointer(rebasing: bytes[offset...])
            let (event, consumed) = connection.context.deflate
                ? connection.context.reader.read(input, role: .server, limits: WebSocketLimits(), inflater: inflater)
                : connection.context.reader.read(input, role: .server, limits: WebSocketLimits())
            offset += consumed
            switch event {
            case .needMore:
                return offset
            case .message(let opcode, let payload):
                let plain = FrameEncoder.frame(opcode: opcode, payload: Array(payload))
                let compressed = deflatePolicy == nil ? plain : encoder.frame(opcode: opcode, payload: Array(payload))
                publish(plain, compressed, payload: payload, from: connection)
            case .ping(let payload):
                connection.write(FrameEncoder.frame(opcode: .pong, payload: Array(payload)))
            case .pong:
                break
            case .close(let code, _):
                connection.write(FrameEncoder.frame(opcode: .close, payload: FrameEncoder.closePayload(code: code ?? .normalClosure)))
                connection.closeAfterFlush()
                return bytes.count
            case .failure(let code, _):
                connection.write(FrameEncoder.frame(opcode: .close, payload: FrameEncoder.closePayload(code: code)))
                connection.closeAfterFlush()
                return bytes.count
            }
        }
        return bytes.count
    }

    /// To every member (but the sender when it asked for self=0), in the form it
    /// negotiated; the victim gets the fault.
    private func publish(_ plain: [UInt8], _ compressed: [UInt8], payload: UnsafeRawBufferPointer,
                         from sender: Connection<MisbehavingRoomServer>) {
        // The publisher's sequence number sits at bytes 8..<16 of wsbench's header, sender at 4..<8.
        let sequence = payload.count >= 16 ? payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self) : .max
        let fromFirstPublisher = payload.count >= 16 && payload.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == 0
        let connections = sender.connections
        for id in members {
            guard let member = connections.connection(id) else { continue }
            if id == sender.id && sender.context.excludesSelf { continue }
            let frame = member.context.deflate ? compressed : plain
            guard id == victim && fromFirstPublisher else {
                member.write(frame)
                continue
            }
            switch fault {
            case .none:
                member.write(frame)
            case .drop(let faulty):
                if sequence != faulty { member.write(frame) }
            case .repeatOnce(let faulty):
                member.write(frame)
                if sequence == faulty { member.write(frame) }
            case .swap(let faulty):
                if sequence == faulty {
                    heldBack = frame
                } else {
                    member.write(frame)
                    if let held = heldBack {
                        member.write(held)
                        heldBack = nil
                    }
                }
            }
        }
    }

    func connectionClosed(_ connection: Connection<MisbehavingRoomServer>, reason: CloseReason) {
        members.removeAll { $0 == connection.id }
    }
}
