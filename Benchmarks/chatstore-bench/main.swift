// chatstore-bench: the chat store's write path.
//   run     messages/s stored with synchronous FULL and NORMAL, group commit on and off; a Markdown table
//   append  appends room messages until killed, printing "SEQ ID" per acknowledgement (the child the
//           crash-durability test kills)
import ChatStore
import Glibc
import Reactor

let usage = """
    usage: chatstore-bench run [--dir DIR] [--seconds S] [--in-flight N] [--size BYTES]
           chatstore-bench append --db PATH [--synchronous full|normal] [--in-flight N]
    """

func fail(_ message: String, status: Int32 = 2) -> Never {
    StandardError.write("chatstore-bench: \(message)")
    exit(status)
}

/// `--name value` pairs after the command.
func options(_ words: ArraySlice<String>) -> [String: String] {
    var options: [String: String] = [:]
    var words = words
    while let name = words.popFirst() {
        guard name.hasPrefix("--"), let value = words.popFirst() else { fail("bad argument \(name)\n\(usage)") }
        options[name] = value
    }
    return options
}

func number(_ options: [String: String], _ name: String, default fallback: Int) -> Int {
    guard let text = options[name] else { return fallback }
    guard let value = Int(text), value > 0 else { fail("\(name) needs a positive number, got '\(text)'") }
    return value
}

func synchronous(_ options: [String: String]) -> ChatStoreConfiguration.Synchronous {
    guard let text = options["--synchronous"] else { return .full }
    guard let value = ChatStoreConfiguration.Synchronous(rawValue: text) else { fail("--synchronous is full or normal, not '\(text)'") }
    return value
}

let words = CommandLine.arguments.dropFirst()
let given = options(words.dropFirst())
switch words.first {
case "run":
    let plan = WritePlan(directory: given["--dir"] ?? ".build/chatstore-bench", seconds: number(given, "--seconds", default: 3),
                         inFlight: number(given, "--in-flight", default: 100), size: number(given, "--size", default: 64))
    print(plan.runAll(), terminator: "")
case "append":
    guard let path = given["--db"] else { fail("append needs --db PATH\n\(usage)") }
    appendUntilKilled(path: path, synchronous: synchronous(given), inFlight: number(given, "--in-flight", default: 64))
default:
    fail(usage)
}
