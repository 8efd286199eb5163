// reactor-bench: the Reactor layer alone, over plain TCP (or TLS).
//   serve  a TCP echo server (used by the benchmarks and by the descriptor-shortage test); TLS with --tls-cert/--tls-key
//   load   closed-loop echo clients: messages/s, and the server's CPU per message
//   hold   idle connections (plain TCP, or WebSockets with --upgrade PATH, offering --extensions VALUE;
//          TLS with --tls insecure), for memory per connection
import Glibc
import Reactor

let usage = """
usage: reactor-bench serve [--host H] [--port P] [--threads N] [--io epoll|uring] [--nofile N] [--tls-cert PEM --tls-key PEM]
       reactor-bench load  [--host H] --port P [-c N] [-s BYTES] [-d SECONDS] [--threads N] [--io epoll|uring] [--server-pid PID]
       reactor-bench hold  [--host H] --port P [-c N] [--bind A.B.C.D-A.B.C.E] [-d SECONDS] [--upgrade PATH] [--tls insecure]
                           [--in-flight N (connections opening at once; default: all)]
                           [--extensions 'permessage-deflate; client_max_window_bits']
"""

/// `--name value` pairs after the command.
struct Arguments: Sendable {
    var options: [String: String] = [:]

    init(_ words: ArraySlice<String>) {
        var words = words
        while let name = words.popFirst() {
            guard name.hasPrefix("-"), let value = words.popFirst() else {
                StandardError.write("reactor-bench: bad argument \(name)\n\(usage)")
                exit(2)
            }
            options[name] = value
        }
    }

    subscript(name: String) -> String? { options[name] }

    func int(_ name: String, default fallback: Int) -> Int {
        guard let text = options[name] else { return fallback }
        guard let value = Int(text) else {
            StandardError.write("reactor-bench: \(name) needs a number, got '\(text)'")
            exit(2)
        }
        return value
    }

    var host: String { options["--host"] ?? "127.0.0.1" }
    var threads: Int { int("--threads", default: 1) }

    /// The loops' backend: --io, or nil (FANOUT_IO, else io_uring where allowed).
    var io: IOBackend? {
        guard let text = options["--io"] else { return nil }
        guard let backend = IOBackend(rawValue: text) else {
            StandardError.write("reactor-bench: --io takes epoll or uring, got '\(text)'")
            exit(2)
        }
        return backend
    }
}

let words = CommandLine.arguments.dropFirst()
let arguments = Arguments(words.dropFirst())
do {
    switch words.first {
    case "serve": try serve(arguments)
    case "load": try load(arguments)
    case "hold": try hold(arguments)
    default:
        StandardError.write(usage)
        exit(2)
    }
} catch {
    StandardError.write("reactor-bench: \(error)")
    exit(1)
}
