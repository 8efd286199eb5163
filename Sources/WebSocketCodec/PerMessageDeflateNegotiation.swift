// Negotiating permessage-deflate (RFC 7692 §7.1): what a server accepts and answers, what a
// client offers and which answers it takes.

extension PerMessageDeflate {
    /// The server's side. It never keeps a compression context (it always answers
    /// server_no_context_takeover), so a room message is deflated once and the same frame goes to
    /// every subscriber, and no connection needs a compressor of its own.
    public struct ServerPolicy: ServerExtension, Hashable {
        public var name: String { PerMessageDeflate.name }
        public var reservedBits: ReservedBits { .rsv1 }
        /// Answer client_no_context_takeover to every client (RFC 7692 §7.1.1.2 allows it), so
        /// the clients compress each message on its own and one inflater per loop serves every
        /// connection. When false, only clients that offer it are held to it; the others need an
        /// inflater (zlib state and a window) of their own.
        public var requireClientNoContextTakeover: Bool
        /// The largest window the server compresses with (8-15). A client asking for less gets
        /// what it asked; one asking for nothing is not told (a smaller window than the 32 KiB it
        /// can take is always fine).
        public var serverMaxWindowBits: Int

        public init(requireClientNoContextTakeover: Bool = true, serverMaxWindowBits: Int = 15) {
            precondition(windowBitsRange.contains(serverMaxWindowBits), "server_max_window_bits is 8-15")
            self.requireClientNoContextTakeover = requireClientNoContextTakeover
            self.serverMaxWindowBits = serverMaxWindowBits
        }

        /// Declines an offer that breaks §7 (unknown, repeated or invalid parameters); accepts
        /// any other, answering:
        /// - `server_no_context_takeover`, always;
        /// - `client_no_context_takeover` when offered or required;
        /// - `server_max_window_bits=min(offered, serverMaxWindowBits)` when offered;
        /// - `client_max_window_bits=N` when offered with a value N (offered bare, nothing: the
        ///   client may use 15, which the server's inflater takes).
        public func accept(_ offer: ExtensionElement) -> ExtensionElement? {
            guard case .success(let offered) = Written.read(offer, isResponse: false) else { return nil }
            var response = ExtensionElement(name: PerMessageDeflate.name)
            response.parameters.append(ExtensionParameter(Written.serverNoContextTakeoverName))
            if offered.clientNoContextTakeover || requireClientNoContextTakeover {
                response.parameters.append(ExtensionParameter(Written.clientNoContextTakeoverName))
            }
            if let asked = offered.serverMaxWindowBits {
                response.parameters.append(ExtensionParameter(Written.serverMaxWindowBitsName, value: String(min(asked, serverMaxWindowBits))))
            }
            if case .bits(let bits) = offered.clientMaxWindowBits {
                response.parameters.append(ExtensionParameter(Written.clientMaxWindowBitsName, value: String(bits)))
            }
            return response
        }

        /// What a connection agreed, from what the handshake negotiated; nil when
        /// permessage-deflate was not accepted. The server's own window is the policy's even when
        /// the response names none.
        public func parameters(_ negotiated: NegotiatedExtensions) -> Parameters? {
            guard let element = negotiated.element(named: PerMessageDeflate.name),
                  case .success(let answered) = Written.read(element, isResponse: true) else { return nil }
            var clientBits = 15
            if case .bits(let bits) = answered.clientMaxWindowBits { clientBits = bits }
            return Parameters(
                serverNoContextTakeover: answered.serverNoContextTakeover, clientNoContextTakeover: answered.clientNoContextTakeover,
                serverMaxWindowBits: min(answered.serverMaxWindowBits ?? 15, serverMaxWindowBits), clientMaxWindowBits: clientBits)
        }
    }

    /// The client's side: one offer, and the rules for the answer.
    public struct ClientOffer: ClientExtension, Hashable {
        public var name: String { PerMessageDeflate.name }
        public var reservedBits: ReservedBits { .rsv1 }
        /// Ask the server to compress each message on its own (server_no_context_takeover); an
        /// answer without it is refused.
        public var serverNoContextTakeover: Bool
        /// Promise to compress each message on its own (client_no_context_takeover).
        public var clientNoContextTakeover: Bool
        /// Ask the server for a window of at most 2^N bytes (server_max_window_bits=N); an answer
        /// without it, or with more, is refused.
        public var serverMaxWindowBits: Int?
        /// client_max_window_bits is always offered: bare (nil), the server may then choose the
        /// window this client compresses with; with N, the client uses at most 2^N bytes and an
        /// answer above N is refused.
        public var clientMaxWindowBits: Int?

        public init(serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
                    serverMaxWindowBits: Int? = nil, clientMaxWindowBits: Int? = nil) {
            precondition(serverMaxWindowBits.map(windowBitsRange.contains) ?? true, "server_max_window_bits is 8-15")
            precondition(clientMaxWindowBits.map(windowBitsRange.contains) ?? true, "client_max_window_bits is 8-15")
            self.serverNoContextTakeover = serverNoContextTakeover
            self.clientNoContextTakeover = clientNoContextTakeover
            self.serverMaxWindowBits = serverMaxWindowBits
            self.clientMaxWindowBits = clientMaxWindowBits
        }

        public var offers: [ExtensionElement] {
            var offer = ExtensionElement(name: PerMessageDeflate.name)
            if serverNoContextTakeover { offer.parameters.append(ExtensionParameter(Written.serverNoContextTakeoverName)) }
            if clientNoContextTakeover { offer.parameters.append(ExtensionParameter(Written.clientNoContextTakeoverName)) }
            if let serverMaxWindowBits {
                offer.parameters.append(ExtensionParameter(Written.serverMaxWindowBitsName, value: String(serverMaxWindowBits)))
            }
            offer.parameters.append(ExtensionParameter(Written.clientMaxWindowBitsName, value: clientMaxWindowBits.map { String($0) }))
            return [offer]
        }

        /// RFC 7692 §7: a response parameter that is unknown, repeated or invalid; the server
        /// keeping its context or a larger window after being asked not to; a client window
        /// above the offered one. The server may add server_no_context_takeover,
        /// client_no_context_takeover and server_max_window_bits unasked (§7.1.1.1, §7.1.1.2,
        /// §7.1.2.1); client_max_window_bits is always offered.
        public func rejection(of response: ExtensionElement) -> String? {
            let answered: Written
            switch Written.read(response, isResponse: true) {
            case .failure(let error): return error.reason
            case .success(let written): answered = written
            }
            if serverNoContextTakeover && !answered.serverNoContextTakeover {
                return "the server did not accept \(Written.serverNoContextTakeoverName)"
            }
            if let asked = serverMaxWindowBits {
                guard let given = answered.serverMaxWindowBits else {
                    return "the server did not accept \(Written.serverMaxWindowBitsName)=\(asked)"
                }
                if given > asked { return "\(Written.serverMaxWindowBitsName)=\(given) is more than the \(asked) offered" }
            }
            if let offered = clientMaxWindowBits, case .bits(let given) = answered.clientMaxWindowBits, given > offered {
                return "\(Written.clientMaxWindowBitsName)=\(given) is more than the \(offered) offered"
            }
            return nil
        }

        /// What the connection agreed, from what the handshake negotiated (after `rejection`
        /// found nothing); nil when the server did not accept permessage-deflate.
        public func parameters(_ negotiated: NegotiatedExtensions) -> Parameters? {
            guard let element = negotiated.element(named: PerMessageDeflate.name),
                  case .success(let answered) = Written.read(element, isResponse: true) else { return nil }
            var clientBits = clientMaxWindowBits ?? 15
            if case .bits(let bits) = answered.clientMaxWindowBits { clientBits = bits }
            return Parameters(
                serverNoContextTakeover: answered.serverNoContextTakeover,
                clientNoContextTakeover: answered.clientNoContextTakeover || clientNoContextTakeover,
                serverMaxWindowBits: answered.serverMaxWindowBits ?? 15, clientMaxWindowBits: clientBits)
        }
    }
}
