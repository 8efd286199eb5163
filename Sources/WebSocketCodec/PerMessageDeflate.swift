// permessage-deflate (RFC 7692): its name, the parameters a connection agrees on, and the rules
// for reading them from an offer or a response (§7). Negotiation is in
// PerMessageDeflateNegotiation.swift; the compressors are MessageDeflater, MessageInflater and
// SharedFrameDeflater.

public enum PerMessageDeflate {
    public static let name = "permessage-deflate"
    /// Window sizes the RFC allows, as base-2 logarithms (256 bytes to 32 KiB).
    public static let windowBitsRange: ClosedRange<Int> = 8...15

    /// What a connection agreed on (RFC 7692 §7.1), the same on both ends. 4 bytes, to sit inline
    /// in a connection's state.
    public struct Parameters: Hashable, Sendable, CustomStringConvertible {
        /// The server compresses each message on its own (its peer may forget each one).
        public var serverNoContextTakeover: Bool
        /// The client compresses each message on its own.
        public var clientNoContextTakeover: Bool
        /// The largest LZ77 window the server compresses with, 8-15.
        public var serverMaxWindowBits: UInt8
        /// The largest LZ77 window the client compresses with, 8-15.
        public var clientMaxWindowBits: UInt8

        public init(serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
                    serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int = 15) {
            precondition(windowBitsRange.contains(serverMaxWindowBits) && windowBitsRange.contains(clientMaxWindowBits))
            self.serverNoContextTakeover = serverNoContextTakeover
            self.clientNoContextTakeover = clientNoContextTakeover
            self.serverMaxWindowBits = UInt8(serverMaxWindowBits)
            self.clientMaxWindowBits = UInt8(clientMaxWindowBits)
        }

        /// Whether the other end keeps its compression context from message to message: then
        /// what it sends can only be inflated by an inflater of this connection's own. When it
        /// does not, one inflater per loop serves every such connection.
        public func peerKeepsContext(as role: WebSocketRole) -> Bool {
            role == .server ? !clientNoContextTakeover : !serverNoContextTakeover
        }

        /// The window the other end compresses with, which an inflater for it needs.
        public func peerWindowBits(as role: WebSocketRole) -> Int {
            Int(role == .server ? clientMaxWindowBits : serverMaxWindowBits)
        }

        /// The window this end may compress with.
        public func ownWindowBits(as role: WebSocketRole) -> Int {
            Int(role == .server ? serverMaxWindowBits : clientMaxWindowBits)
        }

        /// Whether this end may keep its compression context from message to message.
        public func ownContextTakeover(as role: WebSocketRole) -> Bool {
            role == .server ? !serverNoContextTakeover : !clientNoContextTakeover
        }

        public var description: String {
            var words: [String] = []
            if serverNoContextTakeover { words.append("server_no_context_takeover") }
            if clientNoContextTakeover { words.append("client_no_context_takeover") }
            words.append("server_max_window_bits=\(serverMaxWindowBits)")
            words.append("client_max_window_bits=\(clientMaxWindowBits)")
            return words.joined(separator: "; ")
        }
    }

    /// The parameters as written in one offer or response, each checked on its own (§7):
    /// a known name, at most once, a valid value.
    struct Written: Equatable {
        enum ClientWindow: Equatable {
            case absent
            /// `client_max_window_bits` without a value (offers only: "the client supports it").
            case supported
            case bits(Int)
        }

        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        var serverMaxWindowBits: Int?
        var clientMaxWindowBits = ClientWindow.absent

        static let serverNoContextTakeoverName = "server_no_context_takeover"
        static let clientNoContextTakeoverName = "client_no_context_takeover"
        static let serverMaxWindowBitsName = "server_max_window_bits"
        static let clientMaxWindowBitsName = "client_max_window_bits"

        /// Reads `element`'s parameters; `isResponse` because client_max_window_bits needs a
        /// value in a response. The reason when they break a rule.
        static func read(_ element: ExtensionElement, isResponse: Bool) -> Result<Written, ExtensionNegotiationError> {
            var written = Written()
            var seen = Set<String>()
            for parameter in element.parameters {
                let name = String(decoding: parameter.name.utf8.map(HTTPSyntax.lowercased), as: UTF8.self)
                guard seen.insert(name).inserted else { return .failure(ExtensionNegotiationError("\(name) is given twice")) }
                switch name {
                case serverNoContextTakeoverName, clientNoContextTakeoverName:
                    if parameter.value != nil { return .failure(ExtensionNegotiationError("\(name) takes no value")) }
                    if name == serverNoContextTakeoverName {
                        written.serverNoContextTakeover = true
                    } else {
                        written.clientNoContextTakeover = true
                    }
                case serverMaxWindowBitsName:
                    guard let bits = windowBits(parameter.value) else { return .failure(badWindowBits(parameter)) }
                    written.serverMaxWindowBits = bits
                case clientMaxWindowBitsName:
                    if parameter.value == nil && !isResponse {
                        written.clientMaxWindowBits = .supported
                    } else if let bits = windowBits(parameter.value) {
                        written.clientMaxWindowBits = .bits(bits)
                    } else {
                        return .failure(badWindowBits(parameter))
                    }
                default:
                    return .failure(ExtensionNegotiationError("unknown parameter \(parameter.name)"))
                }
            }
            return .success(written)
        }

        static func badWindowBits(_ parameter: ExtensionParameter) -> ExtensionNegotiationError {
            ExtensionNegotiationError("\(parameter.name) needs a value from 8 to 15, got \(parameter.value.map { "'\($0)'" } ?? "none")")
        }

        /// 8-15 written without leading zeroes (§7.1.2.1), else nil.
        static func windowBits(_ value: String?) -> Int? {
            guard let value, value.utf8.count <= 2, value.utf8.first != UInt8(ascii: "0"),
                  value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let bits = Int(value), windowBitsRange.contains(bits) else { return nil }
            return bits
        }
    }
}
