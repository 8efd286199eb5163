/// The executables' command lines: flags as `--name value` or `--name=value`,
/// read one at a time, with values checked as they are taken.
///
///     var flags = CommandLineFlags(Array(CommandLine.arguments.dropFirst()))
///     while let flag = flags.next() {
///         switch flag {
///         case "--port": port = try flags.integer(0...65535)
///         default: throw flags.unknown()
///         }
///     }
public struct CommandLineFlags {
    /// A flag the program does not take, or a value it cannot use: say it, then the usage.
    public struct UsageError: Error {
        public let message: String
        public init(_ message: String) { self.message = message }
    }

    private var remaining: ArraySlice<String>
    /// The flag being read, as typed (with `=value` when it came so).
    public private(set) var argument = ""
    /// Its name, without an inline value.
    public private(set) var name = ""
    private var inlineValue: String?

    public init(_ arguments: [String]) {
        remaining = arguments[...]
    }

    /// The next flag's name; nil when none is left.
    public mutating func next() -> String? {
        guard let next = remaining.popFirst() else { return nil }
        argument = next
        name = next
        inlineValue = nil
        if next.hasPrefix("--"), let equals = next.firstIndex(of: "=") {
            name = String(next[..<equals])
            inlineValue = String(next[next.index(after: equals)...])
        }
        return name
    }

    /// The flag's value: after its `=`, or the next argument.
    public mutating func value() throws(UsageError) -> String {
        if let inlineValue { return inlineValue }
        guard let next = remaining.popFirst() else { throw UsageError("\(name) needs a value") }
        return next
    }

    /// The flag's value, a whole number in `range`.
    public mutating func integer(_ range: ClosedRange<Int>) throws(UsageError) -> Int {
        let text = try value()
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("\(name) needs a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// The flag's value, an I/O backend: `epoll` or `uring`.
    public mutating func backend() throws(UsageError) -> IOBackend {
        let text = try value()
        guard let backend = IOBackend(rawValue: text) else { throw UsageError("\(name) takes epoll or uring, got '\(text)'") }
        return backend
    }

    /// For a flag that takes no value: refuses `--flag=value`.
    public func noValue() throws(UsageError) {
        if inlineValue != nil { throw UsageError("\(name) takes no value") }
    }

    /// The error for a flag the program does not know.
    public func unknown() -> UsageError { UsageError("unknown option \(argument)") }
}
