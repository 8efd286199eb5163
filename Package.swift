// swift-tools-version:6.2
import PackageDescription

// Layers, top to bottom; a module imports only modules above it (see DESIGN.md):
// CEpoll, CURing, COpenSSL → Reactor → WebSocketCodec → Broadcast → PushServer → Events → executables;
// CSQLite → ChatStore (which takes only threads and a semaphore from Reactor);
// Events + ChatStore → Chat (the chat room and friend chat) → chat-server.
// Redis (a client on the Reactor) beside WebSocketCodec; RedisRooms (rooms across
// nodes, a Broadcast backend on Redis) joins the two, so Broadcast needs no Redis.
// Histograms (the latency histogram of wsbench, chat-bench and room-check) stands alone.
// CZlib is the system zlib (permessage-deflate in WebSocketCodec), a system
// library, not a package: Debian's zlib1g-dev provides it.

// The hot paths cross module boundaries through generics (Connections<Handler>
// in Reactor, specialised for handlers in PushServer and wsbench). Without
// cross-module optimisation they run unspecialised, with a metadata lookup
// per access: measured, fan-out to 1,000 subscribers kept up at 2,000 msg/s
// without it and at 10,000 msg/s with it (the e2e fan-out ladder).
// Release builds only. An unsafe flag, which is why the tools version is 6.2:
// from 6.2 on SwiftPM accepts unsafe flags in a package another one depends on
// by version (before, such a dependent failed with "contains unsafe build flags").
let optimized: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "Fanout",
    products: [
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "WebSocketCodec", targets: ["WebSocketCodec"]),
        .library(name: "Broadcast", targets: ["Broadcast"]),
        .library(name: "Redis", targets: ["Redis"]),
        .library(name: "RedisRooms", targets: ["RedisRooms"]),
        .library(name: "PushServer", targets: ["PushServer"]),
        .library(name: "Events", targets: ["Events"]),
        .library(name: "ChatStore", targets: ["ChatStore"]),
        .executable(name: "echo-server", targets: ["echo-server"]),
        .executable(name: "wsbench", targets: ["wsbench"]),
        .executable(name: "push-demo", targets: ["push-demo"]),
        .executable(name: "chat-server", targets: ["chat-server"]),
    ],
    targets: [
        .target(name: "CEpoll"),
        // io_uring through its system calls and the kernel's uapi header (linux/io_uring.h): no liburing.
        .target(name: "CURing"),
        // TLS through the system's OpenSSL 3 (Debian: libssl-dev); Reactor's TLS transport is its only user.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Reactor", dependencies: ["CEpoll", "CURing", "COpenSSL"], swiftSettings: optimized),
        .target(name: "WebSocketCodec", dependencies: ["CZlib"], swiftSettings: optimized),
        .target(name: "Redis", dependencies: ["Reactor"], swiftSettings: optimized),
        .target(name: "Broadcast", dependencies: ["Reactor", "WebSocketCodec"], swiftSettings: optimized),
        .target(name: "RedisRooms", dependencies: ["Broadcast", "Redis", "Reactor"], swiftSettings: optimized),
        .target(name: "PushServer", dependencies: ["Reactor", "WebSocketCodec", "Broadcast"], swiftSettings: optimized),
        .target(name: "Events", dependencies: ["PushServer", "Broadcast", "Reactor", "WebSocketCodec"],
                exclude: ["client.js", "client-module-suffix.js", "embed-client.sh"], swiftSettings: optimized),
        // The system's SQLite (Debian: libsqlite3-dev), not a package dependency.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "ChatStore", dependencies: ["CSQLite", "Reactor"]),
        // The chat room and friend chat: Events for the wire, ChatStore for keeping.
        .target(name: "Chat", dependencies: ["Events", "ChatStore", "PushServer", "Reactor", "WebSocketCodec"],
                exclude: ["chat.html", "embed-page.sh"], swiftSettings: optimized),
        .executableTarget(name: "echo-server", dependencies: ["PushServer", "Events", "RedisRooms", "Redis"]),
        .target(name: "Histograms", swiftSettings: optimized),
        .executableTarget(name: "wsbench", dependencies: ["Reactor", "WebSocketCodec", "Histograms"]),
        .executableTarget(name: "push-demo", dependencies: ["PushServer", "Broadcast", "Reactor"]),
        .executableTarget(name: "chat-server", dependencies: ["Chat", "ChatStore", "PushServer", "Reactor"]),
        .executableTarget(name: "reactor-bench", dependencies: ["Reactor"], path: "Benchmarks/reactor-bench"),
        .executableTarget(name: "events-testbed", dependencies: ["Events", "PushServer", "Reactor"], path: "Tests/EventsTestbed"),
        .executableTarget(name: "room-check", dependencies: ["Reactor", "WebSocketCodec", "Histograms"], path: "Tests/Cluster/RoomCheck"),
        .executableTarget(name: "redis-bench", dependencies: ["Redis", "Reactor"], path: "Benchmarks/redis-bench"),
        .executableTarget(name: "micro-bench", dependencies: ["WebSocketCodec", "Broadcast", "Reactor", "Redis", "COpenSSL"],
                          path: "Benchmarks/micro-bench"),
        .executableTarget(name: "chatstore-bench", dependencies: ["ChatStore", "Reactor"], path: "Benchmarks/chatstore-bench"),
        .executableTarget(name: "chat-bench", dependencies: ["Reactor", "WebSocketCodec", "Histograms"], path: "Benchmarks/chat-bench", swiftSettings: optimized),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CEpoll", "COpenSSL", "reactor-bench"]),
        .testTarget(name: "WebSocketCodecTests", dependencies: ["WebSocketCodec", "CZlib"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "Reactor"]),
        .testTarget(name: "BroadcastTests", dependencies: ["Broadcast", "Reactor", "WebSocketCodec"]),
        .testTarget(name: "RedisRoomsTests", dependencies: ["RedisRooms", "Broadcast", "Reactor"]),
        // Blocking clients the server tests drive by hand.
        .target(name: "TestSupport", dependencies: ["Reactor", "WebSocketCodec"], path: "Tests/TestSupport"),
        .testTarget(name: "PushServerTests", dependencies: ["PushServer", "Broadcast", "Reactor", "WebSocketCodec", "TestSupport"]),
        // The events protocol's client, driven by hand, for the tests of what runs on it.
        .target(name: "EventsTestSupport", dependencies: ["Events", "PushServer", "Reactor", "WebSocketCodec", "TestSupport"], path: "Tests/EventsTestSupport"),
        .testTarget(name: "EventsTests", dependencies: ["Events", "PushServer", "Broadcast", "Reactor", "WebSocketCodec", "TestSupport", "EventsTestSupport"]),
        .testTarget(name: "ChatTests", dependencies: ["Chat", "ChatStore", "Events", "PushServer", "Reactor", "TestSupport", "EventsTestSupport"]),
        .testTarget(name: "ChatStoreTests", dependencies: ["ChatStore", "Reactor", "TestSupport", "chatstore-bench"]),
        .testTarget(name: "wsbenchTests", dependencies: ["wsbench", "Histograms", "Reactor", "WebSocketCodec", "PushServer", "Broadcast", "Events"]),
        // echo-server's command line, read @testable, and the binary's exit status for a bad one.
        .testTarget(name: "EchoServerTests", dependencies: ["echo-server", "PushServer"]),
    ]
)
