// The way the server and wsbench feed a head parser: the same accumulation,
// longer at each call, until the parser decides.

/// Calls `parse` with ever longer prefixes of `bytes` (cut at `splits`, then
/// the whole) until it returns something for which `decided` is true; returns
/// that, or the last answer. Each prefix is copied into an allocation of
/// exactly its size, so ASan traps a read past it.
public func feedGrowing<Result>(
    _ bytes: [UInt8], splits: [Int], decided: (Result) -> Bool,
    _ parse: (UnsafeRawBufferPointer) -> Result
) -> Result {
    var last: Result?
    for end in splits + [bytes.count] {
        let answer = withExactCopy(bytes[..<end]) { parse($0) }
        if decided(answer) { return answer }
        last = answer
    }
    return last!
}

/// `body` with `bytes` in their own allocation of exactly their size.
public func withExactCopy<T>(_ bytes: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) -> T) -> T {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    defer { buffer.deallocate() }
    let exact = UnsafeMutableRawBufferPointer(rebasing: buffer[..<bytes.count])
    bytes.withUnsafeBytes { exact.copyMemory(from: $0) }
    return body(UnsafeRawBufferPointer(exact))
}

/// True when `bytes` ends with CR LF CR LF and every LF in it follows a CR.
public func isHead(_ bytes: ArraySlice<UInt8>) -> Bool {
    guard bytes.count >= 4, Array(bytes.suffix(4)) == [13, 10, 13, 10] else { return false }
    var previous: UInt8 = 0
    for byte in bytes {
        if byte == 10 && previous != 13 { return false }
        previous = byte
    }
    return true
}
