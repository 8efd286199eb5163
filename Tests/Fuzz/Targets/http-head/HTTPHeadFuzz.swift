// Fuzzes the request-head parser and the server handshake behind it.
//
// Input: [head size limit][split seed] then the bytes a client sends.
// Invariants (ASan guards every read: each prefix is its own exact allocation):
//   - the answer does not depend on how the bytes arrived, and a parser that
//     answered parses the same bytes again to the same answer, also into
//     storage a recycler kept from earlier inputs (whose heads it was given back);
//   - a complete head is a prefix of the input within the limit, ends with
//     CRLFCRLF with no bare LF, and its parts keep their syntax (token method
//     and names, visible-ASCII target, trimmed values without controls);
//   - a parsed head written out again parses to the same head;
//   - an invalid head is 400, 431 or 505;
//   - an upgrade ServerHandshake accepts has a GET, HTTP/1.1, a Host and a
//     16-byte key, and its 101 is accepted by the client side expecting that
//     key's accept value; a rejection is 400, 405 or 426 with a
//     well-formed response.

import FuzzSupport
import WebSocketCodec

/// Keeps storage from one input to the next, as a server's loop does from one upgrade to the next.
nonisolated(unsafe) private let recycler = HTTPHeadRecycler()

// Also exported under libFuzzer's name: its runtime refers to it even when main.swift starts the driver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let maxHeadSize = input.pick([8192, 64, 300, 1024])
    let splitSeed = input.byte()
    let bytes = input.rest

    var parser = HTTPHeadParser(maxHeadSize: maxHeadSize)
    let whole = withExactCopy(bytes[...]) { parser.parse($0) }
    let again = withExactCopy(bytes[...]) { parser.parse($0) }
    invariant(Outcome(whole) == Outcome(again), "the parser answers differently the second time")
    let recycled = withExactCopy(bytes[...]) { parser.parse($0, reusing: recycler) }
    invariant(Outcome(whole) == Outcome(recycled), "a head in recycled storage differs: \(Outcome(whole)) vs \(Outcome(recycled))")
    if case .complete(let head, _) = recycled { recycler.recycle(consume head) }
    var fresh = HTTPHeadParser(maxHeadSize: maxHeadSize)
    let grown = feedGrowing(bytes, splits: splitPoints(count: bytes.count, seed: splitSeed), decided: {
        if case .needMore = $0 { return false } else { return true }
    }) { fresh.parse($0) }
    invariant(Outcome(whole) == Outcome(grown), "the answer depends on how the bytes arrived: \(Outcome(whole)) vs \(Outcome(grown))")

    switch whole {
    case .needMore:
        invariant(bytes.count < maxHeadSize, "needMore with \(bytes.count) bytes against a \(maxHeadSize) limit")
    case .invalid(let status, _):
        invariant([400, 431, 505].contains(status), "status \(status)")
    case .complete(let head, let headLength):
        invariant(headLength <= bytes.count && headLength <= maxHeadSize, "head of \(headLength) bytes")
        invariant(isHead(bytes[..<headLength]), "the head does not end with CRLFCRLF or has a bare LF")
        checkSyntax(head)
        checkRewriteParsesTheSame(head)
        checkHandshake(head)
    }
    return 0
}

/// The parts of a parsed head keep the syntax the parser enforces.
private func checkSyntax(_ head: HTTPRequestHead) {
    invariant(!head.method.isEmpty && head.method.utf8.allSatisfy(isTokenByte), "method \(head.method)")
    invariant(!head.target.isEmpty && head.target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "target \(head.target)")
    invariant((0...9).contains(head.versionMinor), "HTTP/1.\(head.versionMinor)")
    invariant(head.path + (head.query.map { "?" + $0 } ?? "") == head.target, "path and query do not make the target")
    for (name, value) in head.headers {
        invariant(!name.isEmpty && name.utf8.allSatisfy(isTokenByte), "header name \(name)")
        invariant(value.utf8.allSatisfy { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }, "control byte in \(name)")
        invariant(value.utf8.first.map { $0 != 0x20 && $0 != 0x09 } ?? true, "\(name) not trimmed")
        invariant(value.utf8.last.map { $0 != 0x20 && $0 != 0x09 } ?? true, "\(name) not trimmed")
    }
}

/// The head written out as a client would send it parses to the same head.
private func checkRewriteParsesTheSame(_ head: HTTPRequestHead) {
    var text = "\(head.method) \(head.target) HTTP/1.\(head.versionMinor)\r\n"
    for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
    text += "\r\n"
    let bytes = Array(text.utf8)
    var parser = HTTPHeadParser(maxHeadSize: bytes.count + 1)
    let reparsed = withExactCopy(bytes[...]) { parser.parse($0) }
    guard case .complete(let again, let length) = reparsed else {
        invariant(false, "a parsed head written out again does not parse: \(Outcome(reparsed))")
        return
    }
    invariant(length == bytes.count, "written-out head parsed to \(length) of \(bytes.count) bytes")
    invariant(again.method == head.method && again.target == head.target && again.versionMinor == head.versionMinor,
              "request line changed on rewriting")
    invariant(again.headers.map { [$0.name, $0.value] } == head.headers.map { [$0.name, $0.value] }, "headers changed on rewriting")
}

/// What ServerHandshake decides is consistent with the head, and its 101 satisfies a client.
private func checkHandshake(_ head: HTTPRequestHead) {
    switch ServerHandshake.validate(head) {
    case .success(let upgrade):
        invariant(head.method == "GET" && head.versionMinor >= 1 && head.header("Host") != nil, "accepted \(head.method) HTTP/1.\(head.versionMinor)")
        guard let key16 = Base64.decode(upgrade.key), key16.count == 16 else {
            invariant(false, "accepted key \(upgrade.key) is not 16 bytes of base64")
            return
        }
        invariant(upgrade.path == head.path && upgrade.query == head.query, "upgrade path or query differs from the head's")
        let response = ServerHandshake.response(
            acceptKey: ServerHandshake.acceptValue(forKey: upgrade.key), subprotocol: upgrade.protocols.first)
        var client = ClientHandshake(host: "fuzz", path: "/", key16: key16)
        client.expectedAccept = ServerHandshake.acceptValue(forKey: upgrade.key)
        let answer = withExactCopy(response[...]) { client.parseResponse($0) }
        guard case .accepted(let length) = answer, length == response.count else {
            invariant(false, "the client side refuses the server's 101: \(answer)")
            return
        }
    case .failure(let rejection):
        invariant([400, 405, 426].contains(rejection.status), "rejected with \(rejection.status)")
        let response = rejection.response
        invariant(response.starts(with: Array("HTTP/1.1 \(rejection.status) ".utf8)), "rejection's status line")
        invariant(response.firstRange(of: [13, 10, 13, 10]).map { isHead(response[..<$0.upperBound]) } ?? false,
                  "rejection's head is malformed")
    }
}

private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}

/// A parse result that can be compared.
enum Outcome: Equatable, CustomStringConvertible {
    case needMore
    case complete(method: String, target: String, minor: Int, headers: [[String]], length: Int)
    case invalid(Int)

    init(_ result: HTTPHeadParseResult) {
        switch result {
        case .needMore: self = .needMore
        case .invalid(let status, _): self = .invalid(status)
        case .complete(let head, let length):
            self = .complete(method: head.method, target: head.target, minor: head.versionMinor,
                             headers: head.headers.map { [$0.name, $0.value] }, length: length)
        }
    }

    var description: String {
        switch self {
        case .needMore: return "needMore"
        case .invalid(let status): return "invalid(\(status))"
        case .complete(let method, let target, _, let headers, let length):
            return "complete(\(method) \(target), \(headers.count) headers, \(length) bytes)"
        }
    }
}
