import Broadcast
import PushServer
import Reactor
import Synchronization
import WebSocketCodec
@testable import wsbench

/// echo-server's rooms on an in-process PushServer: `/room/NAME[?self=0]`
/// joins and publishes (as echo-server's room mode), `/sse/NAME` and
/// `/poll/NAME` serve the same rooms. With a fault, the room route itself
/// misbehaves with one message of publisher 0 before publishing, so every
/// subscriber, over every transport, sees the fault once.
enum PushRoomServer {
    enum Fault: Sendable {
        case none
        case drop(sequence: UInt64)
        case repeatOnce(sequence: UInt64)
        /// Holds `sequence` back and publishes it after the next one.
        case swap(sequence: UInt64)
    }

    static let excludeSelfTag: UInt32 = 1

    /// The message a swap holds back (the room route's handlers are @Sendable closures).
    final class HeldBack: Sendable {
        let message = Mutex<[UInt8]?>(nil)
    }

    /// Serves on 127.0.0.1 and a free port; returns the server with the port.
    static func start(fault: Fault = .none, threads: Int = 1) throws -> (PushServer, Int) {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.threads = threads
        configuration.timerTick = .milliseconds(50)
        configuration.drainTimeout = .milliseconds(500)
        let server = PushServer(configuration: configuration)
        let heldBack = HeldBack()
        server.webSocket("/room/*") { behavior in
            behavior.open = { socket, request in
                if request.query?.split(separator: "&").contains("self=0") == true { socket.tag = excludeSelfTag }
                socket.join(String(request.path.dropFirst("/room/".count)))
            }
            behavior.message = { socket, message in
                guard let room = socket.room else { return }
                let includeSelf = socket.tag & excludeSelfTag == 0
                for payload in apply(fault, to: message.bytes, heldBack: heldBack) {
                    socket.publish(BroadcastMessage(opcode: message.opcode, payload: payload), to: room, includeSelf: includeSelf)
                }
            }
        }
        server.eventStreams("/sse/*")
        server.polling("/poll/*")
        let address = try server.start()
        return (server, address.port)
    }

    /// What to publish for one message: nothing, it, it twice, or (swap) the one held back after it.
    static func apply(_ fault: Fault, to payload: [UInt8], heldBack: HeldBack) -> [[UInt8]] {
        let fields = payload.withUnsafeBytes { bytes in
            TextMessageHeader.read(bytes.baseAddress!, count: bytes.count) ?? MessageHeader.read(bytes.baseAddress!, count: bytes.count)
        }
        let sequence = fields?.sender == 0 ? fields?.sequence : nil
        switch fault {
        case .none:
            return [payload]
        case .drop(let faulty):
            return sequence == faulty ? [] : [payload]
        case .repeatOnce(let faulty):
            return sequence == faulty ? [payload, payload] : [payload]
        case .swap(let faulty):
            if sequence == faulty {
                heldBack.message.withLock { $0 = payload }
                return []
            }
            guard let held = heldBack.message.withLock({ held in defer { held = nil }; return held }) else { return [payload] }
            return [payload, held]
        }
    }
}
