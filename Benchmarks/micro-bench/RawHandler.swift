import Reactor
import WebSocketCodec

/// The one handler of the socket benchmarks: echoes every byte, or every WebSocket message as a
/// frame, or ignores them; may keep the ids of the connections it is told of and pause reading
/// on them. One type for every benchmark, so `Connections` is specialised once in this binary:
/// two near-identical specialisations get merged by the optimiser into one that calls through
/// pointers, which would change the counts the gate compares.
final class RawHandler: ConnectionHandler {
    struct Context: ConnectionContext {
        var reader = WebSocketReader()
    }

    enum Echo { case none, bytes, webSocketFrames }

    let echo: Echo
    let pausesReading: Bool
    /// Connections opened, in order (loop-confined).
    var ids: [ConnectionID] = []
    private let limits = WebSocketLimits()

    init(echo: Echo, pausesReading: Bool = false) {
        self.echo = echo
        self.pausesReading = pausesReading
    }

    func connectionOpened(_ connection: Connection<RawHandler>) {
        ids.append(connection.id)
        if pausesReading { connection.pauseReading() }
    }

    func connection(_ connection: Connection<RawHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        switch echo {
        case .none: return bytes.count
        case .bytes:
            connection.write(UnsafeRawBufferPointer(bytes))
            return bytes.count
        case .webSocketFrames: return echoMessages(connection, bytes)
        }
    }

    /// What echo-server does with a message, without the HTTP around it: read the frames (header,
    /// unmask in place, UTF-8), and write each message back as one unmasked frame into the cork.
    private func echoMessages(_ connection: Connection<RawHandler>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var consumed = 0
        while consumed < bytes.count {
            let (event, used) = connection.context.reader.read(
                UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...]), role: .server, limits: limits)
            consumed += used
            switch event {
            case .needMore:
                return consumed
            case .message(let opcode, let payload):
                connection.write(reserving: FrameEncoder.headerSize(payloadLength: payload.count, masked: false) + payload.count) {
                    FrameEncoder.encode(opcode: opcode, payload: payload, maskKey: nil, into: $0.baseAddress!)
                }
            default:
                fatalError("micro-bench: the WebSocket echo met \(event)")
            }
        }
        return consumed
    }

    func connectionClosed(_ connection: Connection<RawHandler>, reason: CloseReason) {
        guard reason == .shutdown else { fatalError("micro-bench: a benchmark connection closed: \(reason)") }
    }
}
