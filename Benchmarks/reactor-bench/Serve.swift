import Glibc
import Reactor

/// Echoes every byte back: the cheapest possible handler, so what is measured is the reactor.
final class EchoHandler: ConnectionHandler {
    struct Context: ConnectionContext {}

    func connectionOpened(_ connection: Connection<EchoHandler>) {}

    func connection(_ connection: Connection<EchoHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        connection.write(UnsafeRawBufferPointer(bytes))
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<EchoHandler>, reason: CloseReason) {}
}

func serve(_ arguments: Arguments) throws {
    TerminationSignals.block()
    if let limit = arguments["--nofile"].flatMap({ rlim_t($0) }) {
        var bounds = rlimit(rlim_cur: limit, rlim_max: limit)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &bounds) == 0 else { throw SystemError("setrlimit") }
    }
    var tls: TLSContext?
    if let chain = arguments["--tls-cert"], let key = arguments["--tls-key"] {
        tls = try TLSContext.server(TLSConfiguration(certificates: [TLSCertificate(chainPath: chain, keyPath: key)]))
    }
    let group = try EventLoopGroup(loopCount: arguments.threads, io: arguments.io)
    let server = try TCPServer(group: group, host: arguments.host, port: arguments.int("--port", default: 0), tls: tls) { _ in EchoHandler() }
    print("reactor-bench echo listening on \(server.address) with \(arguments.threads) loop(s) on \(group.backend)\(tls == nil ? "" : ", TLS")")
    fflush(nil)
    _ = TerminationSignals.wait()
    group.shutdown()
}
