import ChatStore
import Glibc
import Reactor

/// Appends public messages "seq N" with up to `inFlight` unacknowledged, and
/// prints "N ID" on stdout for each as its completion runs (after COMMIT),
/// until the process is killed. What was printed was acknowledged: the
/// crash-durability test kills this process with SIGKILL and checks it all
/// is in the file.
func appendUntilKilled(path: String, synchronous: ChatStoreConfiguration.Synchronous, inFlight: Int) -> Never {
    var configuration = ChatStoreConfiguration()
    configuration.synchronous = synchronous
    let store: ChatStore
    do {
        store = try ChatStore(path: path, configuration: configuration)
    } catch {
        fail(error.description, status: 1)
    }
    printLine("ready")
    let slots = Semaphore(value: UInt32(inFlight))
    var sequence = 0
    while true {
        slots.wait()
        let number = sequence
        store.appendRoomMessage(from: "writer", room: nil, to: nil, text: "seq \(number)") { result in
            switch result {
            case .success(let message): printLine("\(number) \(message.id)")
            case .failure(let error): fail("seq \(number): \(error)", status: 1)
            }
            slots.signal()
        }
        sequence += 1
    }
}

/// One write(2) per line, unbuffered, so a line is out before the next commit.
func printLine(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
}
