// A broken invariant is a crash to libFuzzer: it saves the input and stops.
// `fatalError`, not `assert`, so the check holds in the release build the
// fuzzer runs.

@inline(never)
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// Whether `bytes` is valid UTF-8, by the standard library's decoder: an oracle
/// independent of the codec's own word-at-a-time validator.
public func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}
