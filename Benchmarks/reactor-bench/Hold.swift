import Glibc
import Reactor
import Synchronization

/// Opens connections and keeps them idle; with an upgrade request, counts
/// a connection as held once its `101 Switching Protocols` arrives, and, when
/// the request offers extensions, those whose 101 accepted one. With a
/// limit on connections in flight, each one held (or failed) opens the next:
/// a TLS server's memory then shows what idle connections keep, not the
/// peak of thousands of handshakes at once.
final class HoldHandler: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {
        var upgraded = false
        var held = false
    }
    let opened = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let withExtension = Atomic<Int>(0)
    let upgradeRequest: [UInt8]?
    /// Connections this loop has still to open, and where to.
    let toOpen = Atomic<Int>(0)
    let address: SocketAddress
    let sources: [SocketAddress]

    /// `extensions`: a Sec-WebSocket-Extensions value to offer (a browser's is
    /// `permessage-deflate; client_max_window_bits`).
    init(upgradePath: String?, extensions: String?, address: SocketAddress, sources: [SocketAddress]) {
        self.address = address
        self.sources = sources
        let offer = extensions.map { "Sec-WebSocket-Extensions: \($0)\r\n" } ?? ""
        upgradeRequest = upgradePath.map {
            Array(("GET \($0) HTTP/1.1\r\nHost: reactor-bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(offer)\r\n").utf8)
        }
    }

    func connectionOpened(_ connection: Connection<HoldHandler>) {
        if let upgradeRequest { connection.write(upgradeRequest) } else { held(connection) }
    }

    func connection(_ connection: Connection<HoldHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        if upgradeRequest != nil && !connection.context.upgraded && bytes.starts(with: "HTTP/1.1 101".utf8) {
            connection.context.upgraded = true
            if Self.acceptsAnExtension(bytes) { withExtension.add(1, ordering: .relaxed) }
            held(connection)
        }
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<HoldHandler>, reason: CloseReason) {
        failed.add(1, ordering: .relaxed)
        if !connection.context.held { openNext(connection.connections) }
    }

    private func held(_ connection: Connection<HoldHandler>) {
        connection.context.held = true
        opened.add(1, ordering: .relaxed)
        openNext(connection.connections)
    }

    /// Opens one more connection, if any are left to open on this loop.
    func openNext(_ connections: Connections<HoldHandler>) {
        guard toOpen.load(ordering: .relaxed) > 0 else { return }
        let number = toOpen.subtract(1, ordering: .relaxed).newValue
        let source = sources.isEmpty ? nil : sources[number % sources.count]
        do { _ = try connections.connect(to: address, from: source) } catch { StandardError.write("reactor-bench: \(error)") }
    }

    /// Whether a 101 (which arrives whole) has a Sec-WebSocket-Extensions header.
    private static func acceptsAnExtension(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        String(decoding: bytes, as: UTF8.self).lowercased().contains("\r\nsec-websocket-extensions:")
    }
}

/// Source addresses from "A.B.C.D-A.B.C.E" (or one address).
func sourceAddresses(_ text: String?) throws -> [SocketAddress] {
    guard let text else { return [] }
    let ends = text.split(separator: "-").map(String.init)
    let first = try SocketAddress(host: ends[0], port: 0)
    guard ends.count == 2, let lastOctet = Int(ends[1].split(separator: ".").last ?? ""),
          let firstOctet = Int(ends[0].split(separator: ".").last ?? ""), lastOctet >= firstOctet else { return [first] }
    let prefix = ends[0].split(separator: ".").dropLast().joined(separator: ".")
    return try (firstOctet...lastOctet).map { try SocketAddress(host: "\(prefix).\($0)", port: 0) }
}

func hold(_ arguments: Arguments) throws {
    let count = arguments.int("-c", default: 1000)
    let seconds = arguments.int("-d", default: 3600)
    let address = try SocketAddress(host: arguments.host, port: arguments.int("--port", default: 0))
    let sources = try sourceAddresses(arguments["--bind"])
    var context: TLSContext?
    if let mode = arguments["--tls"] {
        guard mode == "insecure" else { throw TLSError("--tls takes 'insecure' (any certificate is accepted), got '\(mode)'") }
        context = try TLSContext.client(serverName: arguments.host, verifiesPeer: false)
    }
    let tls = context
    let group = try EventLoopGroup(loopCount: arguments.threads, io: arguments.io)
    let handler = Mutex<[HoldHandler]>([])
    let inFlight = arguments.int("--in-flight", default: count)
    group.onEveryLoop { loop in
        let holder = HoldHandler(upgradePath: arguments["--upgrade"], extensions: arguments["--extensions"], address: address, sources: sources)
        handler.withLock { $0.append(holder) }
        let connections = Connections(loop: loop, handler: holder, tls: tls)
        let share = count / group.loops.count + (loop.index < count % group.loops.count ? 1 : 0)
        holder.toOpen.store(share, ordering: .relaxed)
        for _ in 0..<min(share, max(1, inFlight / group.loops.count)) { holder.openNext(connections) }
    }
    let holders = handler.withLock { $0 }
    let deadline = monotonicNanoseconds() + UInt64(seconds) * 1_000_000_000
    var reported = false
    while monotonicNanoseconds() < deadline {
        let opened = holders.reduce(0) { $0 + $1.opened.load(ordering: .relaxed) }
        let failed = holders.reduce(0) { $0 + $1.failed.load(ordering: .relaxed) }
        if !reported && opened + failed >= count {
            let agreed = holders.reduce(0) { $0 + $1.withExtension.load(ordering: .relaxed) }
            print("held \(opened) connections (\(failed) failed, \(agreed) with an extension accepted)")
            fflush(nil)
            reported = true
        }
        usleep(100_000)
    }
    group.shutdown()
}
