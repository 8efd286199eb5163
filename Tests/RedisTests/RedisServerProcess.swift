import Glibc
import Reactor
import XCTest

/// A redis-server of the test's own: a free port in 20000–32000, a config
/// file and working directory in /tmp, nothing saved. Killed (SIGKILL) and
/// started again on the same port by the outage tests; killed at deinit.
final class RedisServerProcess {
    /// The binary: $REDIS_SERVER, or redis-server on the usual paths or $PATH.
    static let binary: String? = {
        if let path = getenv("REDIS_SERVER").map({ String(cString: $0) }), access(path, X_OK) == 0 { return path }
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = ["/usr/bin", "/usr/local/bin", "/usr/sbin"] + path.split(separator: ":").map(String.init)
        return directories.map { "\($0)/redis-server" }.first { access($0, X_OK) == 0 }
    }()

    /// The binary, or a skip that says how to get it.
    static func requireBinary() throws -> String {
        guard let binary else {
            throw XCTSkip("""
                redis-server is not installed, and this test starts a real Redis: \
                install it with 'apt-get install redis-server' (Debian's package), or set REDIS_SERVER to its path. \
                .ci/run installs it.
                """)
        }
        return binary
    }

    let binary: String
    private(set) var port = 0
    let directory: String
    private(set) var pid: pid_t = 0

    /// Starts it. `configuration` lines are added to the config file
    /// (`requirepass …`, `user …`, `rename-command …`).
    init(configuration: [String] = []) throws {
        binary = try Self.requireBinary()
        var template = Array("/tmp/fanout-redis-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        directory = String(cString: made)
        var lastError = ""
        for _ in 0..<20 {
            let candidate = Int.random(in: 20000..<32000)
            guard Self.isFree(candidate) else { continue }
            let lines = [
                "port \(candidate)", "bind 127.0.0.1", "save \"\"", "appendonly no", "daemonize no",
                "dir \(directory)", "logfile \(directory)/redis.log",
            ] + configuration
            let file = "\(directory)/redis.conf"
            guard let handle = fopen(file, "w") else { throw SystemError("fopen \(file)") }
            fputs(lines.joined(separator: "\n") + "\n", handle)
            fclose(handle)
            port = candidate
            do {
                try start()
                return
            } catch {
                lastError = "\(error)"
            }
        }
        throw SystemError("could not start redis-server on a free port (\(lastError)); log: \(directory)/redis.log", errno: EADDRINUSE)
    }

    deinit {
        kill()
        for name in ["redis.conf", "redis.log", "dump.rdb"] { unlink("\(directory)/\(name)") }
        rmdir(directory)
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts the server (again) with the same port and configuration;
    /// returns once it accepts connections.
    func start() throws {
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(binary), strdup("\(directory)/redis.conf"), nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, binary, nil, nil, &argv, environ)
        guard status == 0 else { throw SystemError("posix_spawn \(binary)", errno: status) }
        pid = child
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while monotonicNanoseconds() < deadline {
            var exitStatus: Int32 = 0
            if waitpid(child, &exitStatus, WNOHANG) == child {
                pid = 0
                throw SystemError("redis-server exited at start (see \(directory)/redis.log)", errno: ECHILD)
            }
            if Self.accepts(port) { return }
            usleep(10_000)
        }
        kill()
        throw SystemError("redis-server did not listen within 5 s", errno: ETIMEDOUT)
    }

    /// SIGKILL: Redis vanishes the way a crash or a lost machine looks.
    func kill() {
        guard pid != 0 else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// User + system CPU seconds of the server so far.
    var cpuSeconds: Double { processCPUSeconds(String(pid)) }

    private static func isFree(_ port: Int) -> Bool {
        guard let descriptor = try? Listener.bind(SocketAddress(host: "127.0.0.1", port: port)) else { return false }
        close(descriptor)
        return !accepts(port)
    }

    private static func accepts(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        guard let address = try? SocketAddress(host: "127.0.0.1", port: port) else { return false }
        return address.withSockAddr { connect(descriptor, $0, $1) } == 0
    }
}
