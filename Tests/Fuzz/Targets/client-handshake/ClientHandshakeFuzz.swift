// Fuzzes the client side of the handshake (wsbench's): the server's response head.
//
// Input: [head size limit][split seed] then the response. Every "@ACCEPT@" in
// it is replaced by the accept value the client expects, so the fuzzer reaches
// the checks after the status line without having to find a SHA-1.
// Invariants (ASan guards every read: each prefix is its own exact allocation):
//   - the answer does not depend on how the bytes arrived;
//   - an accepted head is a prefix of the input within the limit, ends with
//     CRLFCRLF with no bare LF, has status 101 in HTTP/1.1 (or a later 1.x)
//     and carries the expected accept value; a rejection says why;
//   - the request the client sends is one the server's parser and handshake accept.

import FuzzSupport
import WebSocketCodec

private let key16: [UInt8] = Array(0..<16)

// Also exported under libFuzzer's name: its runtime refers to it even when main.swift starts the driver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let maxHeadSize = input.pick([8192, 64, 200, 1024])
    let splitSeed = input.byte()
    var client = ClientHandshake(host: "127.0.0.1:9001", path: "/room/fuzz?self=0", key16: key16)
    client.maxHeadSize = maxHeadSize
    let bytes = replacing(Array("@ACCEPT@".utf8), with: Array(client.expectedAccept.utf8), in: input.rest)

    var whole = client
    let first = withExactCopy(bytes[...]) { whole.parseResponse($0) }
    var growing = client
    let grown = feedGrowing(bytes, splits: splitPoints(count: bytes.count, seed: splitSeed), decided: {
        if case .needMore = $0 { return false } else { return true }
    }) { growing.parseResponse($0) }
    invariant(Outcome(first) == Outcome(grown), "the answer depends on how the bytes arrived: \(first) vs \(grown)")

    switch first {
    case .needMore:
        invariant(bytes.count < maxHeadSize, "needMore with \(bytes.count) bytes against a \(maxHeadSize) limit")
    case .rejected(let reason):
        invariant(!reason.isEmpty, "a rejection without a reason")
    case .accepted(let headLength):
        invariant(headLength <= bytes.count && headLength <= maxHeadSize, "head of \(headLength) bytes")
        let head = bytes[..<headLength]
        invariant(isHead(head), "the head does not end with CRLFCRLF or has a bare LF")
        let status = Array(head.dropFirst(8).prefix(5))
        invariant(head.starts(with: Array("HTTP/1.".utf8)) && head[head.startIndex + 7] != UInt8(ascii: "0")
                  && (status == Array(" 101 ".utf8) || status == Array(" 101\r".utf8)),
                  "accepted a status line other than HTTP/1.1 (or a later 1.x) 101")
        invariant(head.firstRange(of: Array(client.expectedAccept.utf8)) != nil, "accepted without the expected accept value")
    }

    checkRequestIsAccepted(client.request)
    return 0
}

private func checkRequestIsAccepted(_ request: [UInt8]) {
    var parser = HTTPHeadParser()
    let parsed = withExactCopy(request[...]) { parser.parse($0) }
    guard case .complete(let head, let length) = parsed, length == request.count else {
        invariant(false, "the client's request does not parse")
        return
    }
    guard case .success = ServerHandshake.validate(head) else {
        invariant(false, "the server refuses the client's request")
        return
    }
}

private func replacing(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var rest = bytes[...]
    while let range = rest.firstRange(of: pattern) {
        out += rest[..<range.lowerBound]
        out += replacement
        rest = rest[range.upperBound...]
    }
    return out + rest
}

enum Outcome: Equatable {
    case needMore
    case accepted(Int)
    case rejected

    init(_ result: ClientHandshake.Result) {
        switch result {
        case .needMore: self = .needMore
        case .accepted(let length): self = .accepted(length)
        case .rejected: self = .rejected
        }
    }
}
