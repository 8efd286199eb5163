import Glibc
import Reactor

/// A child process with its stdout and stderr piped back, for tests that
/// need a separate process (resource limits, crashes).
final class ChildProcess {
    let pid: pid_t
    private let stdoutFile: UnsafeMutablePointer<FILE>
    private let stderrPath: String

    /// `environment`: `NAME=value` entries added to this process's environment.
    init(arguments: [String], environment: [String] = []) throws {
        var output: [Int32] = [0, 0]
        guard pipe(&output) == 0 else { throw SystemError("pipe") }
        stderrPath = "/tmp/reactor-test-stderr-\(getpid())-\(monotonicNanoseconds())"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addclose(&actions, output[0])
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var inherited: [String] = []
        var entry = environ
        while let variable = entry.pointee {
            inherited.append(String(cString: variable))
            entry += 1
        }
        let names = Set(environment.map { $0.prefix { $0 != "=" } })
        var envp = (inherited.filter { !names.contains($0.prefix { $0 != "=" }) } + environment).map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, arguments[0], &actions, nil, &argv, &envp)
        close(output[1])
        guard status == 0 else {
            close(output[0])
            throw SystemError("posix_spawn \(arguments[0])", errno: status)
        }
        pid = child
        stdoutFile = fdopen(output[0], "r")
    }

    deinit {
        terminate()
        fclose(stdoutFile)
        unlink(stderrPath)
    }

    func readLine() -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), stdoutFile) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func stderrText() -> String {
        guard let file = fopen(stderrPath, "r") else { return "" }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 1024)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }

    /// User + system CPU seconds.
    func cpuSeconds() -> Double { processCPUSeconds(String(pid)) }

    private var reaped = false

    /// Waits for the child to end; its exit status (128 + the signal if a signal ended it).
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    func terminate() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
    }
}
