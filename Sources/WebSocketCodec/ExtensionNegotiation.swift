// Extension negotiation in the opening handshake (RFC 6455 §4.2.2, §9.1), shaped after wsproto:
// each extension a side supports answers for its own offers and responses; the functions here
// keep the rules that span extensions (one acceptance per extension, no two extensions on one
// reserved bit, nothing accepted that the client did not offer).

/// An extension a server supports.
public protocol ServerExtension: Sendable {
    /// The registered name, e.g. "permessage-deflate".
    var name: String { get }
    /// The reserved bits its frames use; two accepted extensions may not share one.
    var reservedBits: ReservedBits { get }
    /// The response element accepting `offer` (an element with this extension's name), or nil to
    /// decline it, in which case the client's next offer of the extension, if any, is tried.
    func accept(_ offer: ExtensionElement) -> ExtensionElement?
}

/// An extension a client offers.
public protocol ClientExtension: Sendable {
    var name: String { get }
    var reservedBits: ReservedBits { get }
    /// The offers to send, most preferred first (a later one is a fallback).
    var offers: [ExtensionElement] { get }
    /// Why the server's acceptance cannot be used, or nil when it can.
    func rejection(of response: ExtensionElement) -> String?
}

/// What a handshake agreed on: the accepted extensions, in the order the response lists them.
public struct NegotiatedExtensions: Hashable, Sendable {
    public var elements: [ExtensionElement]

    public init(_ elements: [ExtensionElement] = []) {
        self.elements = elements
    }

    public static var none: NegotiatedExtensions { NegotiatedExtensions() }

    /// The accepted element of extension `name`, if it was accepted.
    public func element(named name: String) -> ExtensionElement? {
        elements.first { $0.isNamed(name) }
    }

    /// The Sec-WebSocket-Extensions value of the response; nil when nothing was accepted.
    public var headerValue: String? {
        elements.isEmpty ? nil : ExtensionHeader.render(elements)
    }
}

/// Why a client cannot use what a server accepted (RFC 6455 §4.1: the client fails the connection).
public struct ExtensionNegotiationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

public enum ExtensionNegotiation {
    /// The server's side: the request's offers in the client's order of preference. An offer goes
    /// to the supported extension of its name, unless that one has already accepted an offer or
    /// its reserved bits are taken; the extension accepts or declines it. Offers of extensions
    /// the server does not support are ignored. A malformed header is a 400, since the client
    /// cannot have meant what it sent. With nothing supported the header is not even read.
    public static func accept(
        _ head: HTTPRequestHead, supported: [any ServerExtension]
    ) -> Result<NegotiatedExtensions, HandshakeRejection> {
        guard !supported.isEmpty else { return .success(.none) }
        do {
            return .success(accept(offers: try ExtensionHeader.elements(of: head.headers(named: ExtensionHeader.name)), supported: supported))
        } catch {
            return .failure(HandshakeRejection(status: 400, reason: error.description))
        }
    }

    /// The same from offers already parsed.
    public static func accept(offers: [ExtensionElement], supported: [any ServerExtension]) -> NegotiatedExtensions {
        var accepted: [ExtensionElement] = []
        var taken: ReservedBits = []
        var done = Set<Int>()  // indexes into `supported` that accepted an offer
        for offer in offers {
            guard let index = supported.firstIndex(where: { offer.isNamed($0.name) }), !done.contains(index) else { continue }
            let candidate = supported[index]
            guard taken.isDisjoint(with: candidate.reservedBits), let response = candidate.accept(offer) else { continue }
            accepted.append(response)
            taken.formUnion(candidate.reservedBits)
            done.insert(index)
        }
        return NegotiatedExtensions(accepted)
    }

    /// The client's Sec-WebSocket-Extensions value: every offer of every extension, in order; nil for none.
    public static func offerHeaderValue(_ extensions: [any ClientExtension]) -> String? {
        let offers = extensions.flatMap(\.offers)
        return offers.isEmpty ? nil : ExtensionHeader.render(offers)
    }

    /// The client's side: the response's extensions must each be one the client offered, accepted
    /// once, on reserved bits no other accepted extension uses, and acceptable to that extension
    /// (RFC 6455 §4.1: otherwise the client fails the connection). The reason when they are not.
    public static func validate(
        response headers: [(name: String, value: String)], offered: [any ClientExtension]
    ) -> Result<NegotiatedExtensions, ExtensionNegotiationError> {
        let elements: [ExtensionElement]
        do {
            elements = try ExtensionHeader.elements(of: headers)
        } catch {
            return .failure(ExtensionNegotiationError("the response's \(error.description)"))
        }
        var taken: ReservedBits = []
        for (position, element) in elements.enumerated() {
            guard let mine = offered.first(where: { element.isNamed($0.name) }) else {
                return .failure(ExtensionNegotiationError("the server accepted the extension \(element.name), which was not offered"))
            }
            if elements[..<position].contains(where: { $0.isNamed(element.name) }) {
                return .failure(ExtensionNegotiationError("the server accepted the extension \(element.name) twice"))
            }
            guard taken.isDisjoint(with: mine.reservedBits) else {
                return .failure(ExtensionNegotiationError("the server accepted \(element.name) on reserved bits another accepted extension uses"))
            }
            if let reason = mine.rejection(of: element) {
                return .failure(ExtensionNegotiationError("\(element.name): \(reason)"))
            }
            taken.formUnion(mine.reservedBits)
        }
        return .success(NegotiatedExtensions(elements))
    }
}
