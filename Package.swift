// swift-tools-version:6.0
import PackageDescription

// Layers, top to bottom; a module imports only modules above it (see DESIGN.md):
// CEpoll → Reactor → WebSocketCodec → Broadcast → PushServer → executables.
let package = Package(
    name: "Fanout",
    products: [
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "WebSocketCodec", targets: ["WebSocketCodec"]),
        .library(name: "Broadcast", targets: ["Broadcast"]),
        .library(name: "PushServer", targets: ["PushServer"]),
        .executable(name: "echo-server", targets: ["echo-server"]),
        .executable(name: "wsbench", targets: ["wsbench"]),
        .executable(name: "push-demo", targets: ["push-demo"]),
    ],
    targets: [
        .target(name: "CEpoll"),
        .target(name: "Reactor", dependencies: ["CEpoll"]),
        .target(name: "WebSocketCodec"),
        .target(name: "Broadcast", dependencies: ["Reactor", "WebSocketCodec"]),
        .target(name: "PushServer", dependencies: ["Reactor", "WebSocketCodec", "Broadcast"]),
        .executableTarget(name: "echo-server", dependencies: ["PushServer"]),
        .executableTarget(name: "wsbench", dependencies: ["Reactor", "WebSocketCodec"]),
        .executableTarget(name: "push-demo", dependencies: ["PushServer", "Broadcast", "Reactor"]),
        .executableTarget(name: "reactor-bench", dependencies: ["Reactor"], path: "Benchmarks/reactor-bench"),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CEpoll", "reactor-bench"]),
        .testTarget(name: "WebSocketCodecTests", dependencies: ["WebSocketCodec"]),
        .testTarget(name: "BroadcastTests", dependencies: ["Broadcast", "Reactor", "WebSocketCodec"]),
        .testTarget(name: "PushServerTests", dependencies: ["PushServer", "Broadcast", "Reactor", "WebSocketCodec"]),
        .testTarget(name: "wsbenchTests", dependencies: ["wsbench"]),
    ]
)
