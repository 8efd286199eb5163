import Chat
import ChatStore
import Glibc
import PushServer
import Reactor

// chat-server: the documents' chat room and friend chat, kept in SQLite.
TerminationSignals.block()
let options: ChatServerOptions
do {
    guard let parsed = try ChatServerOptions.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(ChatServerOptions.usage)
        exit(0)
    }
    options = parsed
} catch {
    StandardError.write("chat-server: \(error.message)\n\n\(ChatServerOptions.usage)")
    exit(2)
}

/// Serves the chat on `storage` until SIGINT or SIGTERM, then closes every
/// connection (1001), drains, and closes the storage (every accepted write
/// committed). Generic, so the handlers call the storage directly.
func serve<Storage: ChatStorage>(_ storage: Storage, describedAs description: String) -> Never {
    let server = PushServer(configuration: options.server)
    _ = ChatService(server: server, storage: storage, configuration: options.chat)
    do {
        let address = try server.start()
        print("chat-server listening on \(address) with \(server.group?.loops.count ?? 0) loop(s) on \(server.group?.backend ?? .epoll); \(description); open http://\(address)/")
        fflush(nil)
    } catch .listen(let error) {
        storage.close()
        StandardError.write("chat-server: cannot listen on \(options.server.host):\(options.server.port): \(error). Pick another --port or --host.")
        exit(1)
    } catch {
        storage.close()
        StandardError.write("chat-server: \(error)")
        exit(1)
    }
    let signal = TerminationSignals.wait()
    StandardError.write("chat-server: signal \(signal), closing connections (1001), draining, closing the database")
    server.shutdown()
    storage.close()
    exit(0)
}

if options.storageOff {
    serve(MemoryStorage(), describedAs: "storage off (--no-store): nothing is kept")
}
let store: ChatStore
do {
    store = try ChatStore(path: options.databasePath, configuration: options.store)
} catch {
    StandardError.write("chat-server: \(error)")
    exit(3)
}
serve(store, describedAs: "database \(options.databasePath) (synchronous \(options.store.synchronous.rawValue.uppercased()))")
