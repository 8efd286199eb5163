import Chat
import ChatStore
import Events
import EventsTestSupport
import PushServer
import TestSupport
import XCTest

/// A chat server on a free port, one loop (so what one loop publishes
/// reaches a client in publish order, which the "did not get it" checks use).
final class ChatTestServer<Storage: ChatStorage> {
    let server: PushServer
    let storage: Storage
    let port: Int

    init(storage: Storage, configure: (inout ChatConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.threads = 1
        configuration.timerTick = .milliseconds(50)
        var chat = ChatConfiguration()
        chat.floodRate = 0
        configure(&chat)
        server = PushServer(configuration: configuration)
        _ = ChatService(server: server, storage: storage, configuration: chat)
        port = try server.start().port
        self.storage = storage
    }

    func stop() {
        server.shutdown()
    }
}

/// A test with a chat server of its own on a fresh database file.
class StoredChatTestCase: XCTestCase {
    private var scratch: ScratchDirectory!
    var chat: ChatTestServer<ChatStore>!

    override func setUpWithError() throws {
        scratch = ScratchDirectory()
        chat = try ChatTestServer(storage: try ChatStore(path: scratch.file("chat.db")))
    }

    override func tearDown() {
        chat?.stop()
        chat?.storage.close()
        chat = nil
        scratch = nil
    }
}

/// A chat client over the events protocol (WebSocket), driven by hand.
/// Requests wait for their acknowledgement; the events that arrive
/// meanwhile are kept, in order, for `event(_:)`.
final class ChatClient {
    let connection: EventsClient
    private var kept: [JSON] = []
    private var nextAck = 1
    /// What `entered` said, once the client is in.
    private(set) var me: JSON = .null

    init(port: Int, key: String? = nil, rooms: [String] = []) throws {
        connection = try EventsClient(port: port, transport: .webSocket)
        var auth: [(String, JSON)] = [("rooms", .array(rooms.map { .string($0) }))]
        if let key { auth.append(("key", .string(key))) }
        let answer = try connection.connect("/", auth: .object(auth))
        guard answer["type"] == "connect" else { throw EventsClient.Failure("not connected: \(answer)") }
    }

    /// A client that took `name` (its first message) and got its history.
    static func entering(_ port: Int, as name: String, rooms: [String] = []) throws -> ChatClient {
        let client = try ChatClient(port: port, rooms: rooms)
        let reply = try client.request("message", [.string(name)])
        guard reply["name"]?.string == name else { throw EventsClient.Failure("\(name) not taken: \(reply)") }
        try client.awaitEntered()
        return client
    }

    /// Waits for `entered` and the `history` after it; returns the history.
    @discardableResult
    func awaitEntered() throws -> [JSON] {
        me = try event("entered")[0]
        return try event("history")[0].array ?? []
    }

    var key: String { me["key"]?.string ?? "" }
    var userID: Int { me["id"]?.int ?? 0 }

    /// Emits `event` with an acknowledgement and returns the acknowledgement's first argument.
    func request(_ event: String, _ arguments: [JSON] = []) throws -> JSON {
        let id = nextAck
        nextAck += 1
        try connection.emit(event, arguments, ack: id)
        while true {
            let packet = try connection.next()
            if packet["type"] == "ack" && packet["ack"]?.int == id { return packet["args"]?[0] ?? .null }
            if packet["type"] == "event" { kept.append(packet) }
        }
    }

    /// Sends a chat message; the acknowledgement.
    @discardableResult
    func say(_ text: String) throws -> JSON { try request("message", [.string(text)]) }

    /// The arguments of the next event named `name`; other events before it are kept.
    func event(_ name: String) throws -> [JSON] {
        if let index = kept.firstIndex(where: { $0["event"]?.string == name }) {
            return kept.remove(at: index)["args"]?.array ?? []
        }
        while true {
            let packet = try connection.next()
            guard packet["type"] == "event" else { continue }
            if packet["event"]?.string == name { return packet["args"]?.array ?? [] }
            kept.append(packet)
        }
    }

    /// Waits for the system message `text`, other system messages before it passed over.
    func awaitSystem(_ text: String) throws {
        while try event("system").first?.string != text {}
    }

    /// Whether an event named `name` has arrived and not been looked at.
    func holds(_ name: String) -> Bool { kept.contains { $0["event"]?.string == name } }

    /// The next `message` event's message.
    func message() throws -> JSON { try event("message")[0] }

    /// The texts of the `message` events up to and including the one with
    /// text `last`: what this client was sent, in order.
    func messages(through last: String) throws -> [String] {
        var texts: [String] = []
        while true {
            let text = try message()["text"]?.string ?? ""
            texts.append(text)
            if text == last { return texts }
        }
    }

    func close() { connection.vanish() }
}

extension JSON {
    /// An acknowledgement's refusal, if it is one.
    var refusal: String? { self["error"]?.string }
}
