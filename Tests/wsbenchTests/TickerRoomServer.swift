import Broadcast
import PushServer
import Reactor
import Synchronization
import WebSocketCodec
@testable import wsbench

/// echo-server's room mode for the ticker on an in-process PushServer:
/// `/room/NAME` joins with what the query asks (`conflate=1`, `rate=N`),
/// `self=0` leaves the sender out, `keyAt=24:8` keys what it publishes;
/// `GET /stats` as echo-server's. With a fault, the room route misbehaves
/// with one key before publishing, so every member sees it.
enum TickerRoomServer {
    enum Fault: Sendable {
        case none
        /// Updates of `key` past `value` are never published.
        case stopKey(UInt32, after: UInt64)
        /// The update of `key` to value 2 is held back and published after the one to value 3.
        case olderAfterNewer(key: UInt32)
    }

    /// What a member's query asked for, kept on its socket.
    final class Member {
        let includeSelf: Bool
        let keyed: Bool

        init(query: String?) {
            let pairs = query?.split(separator: "&") ?? []
            includeSelf = !pairs.contains("self=0")
            keyed = pairs.contains(Substring(KeyedUpdate.keyAtQuery))
        }
    }

    /// Serves on 127.0.0.1 and a free port; without `conflating`, members join plain (their query's options ignored).
    static func start(fault: Fault = .none, conflating: Bool = true, threads: Int = 1) throws -> (PushServer, Int) {
        let server = PushServer(configuration: PushRoomServer.configuration(threads: threads))
        let heldBack = PushRoomServer.HeldBack()
        server.webSocket("/room/*") { behavior in
            behavior.open = { socket, request in
                socket.userData = Member(query: request.query)
                let options = conflating ? SubscriptionOptions(query: request.query) ?? SubscriptionOptions() : SubscriptionOptions()
                socket.join(String(request.path.dropFirst("/room/".count)), options: options)
            }
            behavior.message = { socket, message in
                guard let room = socket.room, let member = socket.userData as? Member else { return }
                for payload in apply(fault, to: message.bytes, heldBack: heldBack) {
                    let key = member.keyed && payload.count >= KeyedUpdate.size
                        ? String(decoding: payload[KeyedUpdate.keyOffset..<(KeyedUpdate.keyOffset + KeyedUpdate.keyLength)], as: UTF8.self) : nil
                    socket.publish(BroadcastMessage(opcode: message.opcode, payload: payload, key: key), to: room,
                                   includeSelf: member.includeSelf)
                }
            }
        }
        server.get("/stats") { _ in HTTPReply(contentType: "application/json", body: server.statisticsJSON()) }
        let address = try server.start()
        return (server, address.port)
    }

    /// What to publish for one update: nothing, it, or (older after newer) the one held back after it.
    static func apply(_ fault: Fault, to payload: [UInt8], heldBack: PushRoomServer.HeldBack) -> [[UInt8]] {
        guard let (key, value) = payload.withUnsafeBytes({ bytes in
            KeyedUpdate.read(bytes.baseAddress!, count: bytes.count).flatMap { _ in KeyedUpdate.keyAndValue(bytes.baseAddress!) }
        }) else { return [payload] }
        switch fault {
        case .none:
            return [payload]
        case .stopKey(let stopped, let last):
            return key == stopped && value > last ? [] : [payload]
        case .olderAfterNewer(let swapped):
            guard key == swapped else { return [payload] }
            if value == 2 {
                heldBack.message.withLock { $0 = payload }
                return []
            }
            guard value == 3, let held = heldBack.message.withLock({ held in defer { held = nil }; return held }) else { return [payload] }
            return [payload, held]
        }
    }
}
