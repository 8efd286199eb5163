import Glibc
import Reactor
import WebSocketCodec

/// A blocking WebSocket client over a plain socket: the peer the server
/// tests drive by hand, including in ways no real client would.
public final class TestClient {
    public let descriptor: Int32
    private var buffer: [UInt8] = []
    private var reader = WebSocketReader()
    /// permessage-deflate as the handshake agreed it; nil when it was not (or not offered).
    public private(set) var deflate: PerMessageDeflate.Parameters?
    /// Inflates what the server sends, once permessage-deflate is agreed.
    private var inflater: MessageInflater?
    /// Whether the last message `receiveFrame` returned arrived compressed (RSV1 on its first
    /// frame); kept for messages of one frame under the reader's streaming threshold (64 KiB).
    public private(set) var lastMessageWasCompressed = false

    /// Connects without any handshake.
    public init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        guard address.withSockAddr({ connect(descriptor, $0, $1) }) == 0 else { throw SystemError("connect") }
    }

    /// Connects and completes the opening handshake on `path`, offering `deflate` if given.
    public convenience init(port: Int, path: String, receiveBuffer: Int32? = nil, deflate offer: PerMessageDeflate.ClientOffer? = nil) throws {
        try self.init(port: port, receiveBuffer: receiveBuffer)
        var handshake = ClientHandshake(host: "127.0.0.1:\(port)", path: path, key16: (0..<16).map { UInt8($0 * 7) },
                                        extensions: offer.map { [$0] } ?? [])
        send(handshake.request)
        while true {
            let result = buffer.withUnsafeBytes { handshake.parseResponse($0) }
            switch result {
            case .accepted(let length):
                buffer.removeFirst(length)
                if let offer, let agreed = offer.parameters(handshake.negotiated) {
                    deflate = agreed
                    inflater = MessageInflater.forConnection(agreed, as: .client) ?? MessageInflater.sharedPerLoop()
                }
                return
            case .rejected(let reason):
                throw SystemError("handshake rejected: \(reason)", errno: EPROTO)
            case .needMore:
                guard fill() else { throw SystemError("handshake: connection ended", errno: EPROTO) }
            }
        }
    }

    deinit { close(descriptor) }

    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Sends one masked frame, as a client must.
    public func sendFrame(_ opcode: Opcode, _ payload: [UInt8], fin: Bool = true) {
        send(FrameEncoder.frame(opcode: opcode, fin: fin, payload: payload, maskKey: MaskKey(1, 2, 3, 4)))
    }

    /// Sends one masked message compressed by `deflater` (RSV1 set), once permessage-deflate is
    /// agreed. Returns the compressed payload's size.
    @discardableResult
    public func sendCompressed(_ opcode: Opcode, _ payload: [UInt8], with deflater: MessageDeflater) -> Int {
        let compressed = payload.withUnsafeBytes { Array(deflater.compress($0)!) }
        send(FrameEncoder.frame(opcode: opcode, reservedBits: .rsv1, payload: compressed, maskKey: MaskKey(1, 2, 3, 4)))
        return compressed.count
    }

    /// Reads more bytes into the buffer; false at end of stream or timeout.
    @discardableResult
    public func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { return false }
        buffer += chunk[0..<received]
        return true
    }

    public enum Frame: Equatable {
        case text(String), binary([UInt8]), ping([UInt8]), pong([UInt8]), close(UInt16?, String)
        case failure(UInt16), ended
    }

    /// The next frame from the server (unmasked), or `.ended`.
    public func receiveFrame() -> Frame {
        while true {
            var event: Frame?
            var consumed = 0
            // A reader with nothing consumed of a message leaves its first frame at the buffer's start.
            let compressed = reader.isIdle && buffer.first.map { $0 & 0x40 != 0 } == true
            buffer.withUnsafeMutableBytes { bytes in
                let (parsed, used) = inflater.map { reader.read(bytes, role: .client, limits: WebSocketLimits(), inflater: $0) }
                    ?? reader.read(bytes, role: .client, limits: WebSocketLimits())
                consumed = used
                switch parsed {
                case .needMore: event = nil
                case .message(let opcode, let payload):
                    lastMessageWasCompressed = compressed
                    event = opcode == .text ? .text(String(decoding: payload, as: UTF8.self)) : .binary(Array(payload))
                case .ping(let payload): event = .ping(Array(payload))
                case .pong(let payload): event = .pong(Array(payload))
                case .close(let code, let reason): event = .close(code?.rawValue, String(decoding: reason, as: UTF8.self))
                case .failure(let code, _): event = .failure(code.rawValue)
                }
            }
            buffer.removeFirst(consumed)
            if let event { return event }
            guard fill() else { return .ended }
        }
    }

    /// Everything until the server ends the stream (or times out), as text.
    public func receiveAll() -> String {
        while fill() {}
        defer { buffer = [] }
        return String(decoding: buffer, as: UTF8.self)
    }

    public func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(descriptor, Int32(SHUT_RDWR))
    }
}

public func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
