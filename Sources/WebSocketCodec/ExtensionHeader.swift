// The Sec-WebSocket-Extensions header (RFC 6455 §9.1): offers in a request, acceptances in a response.
//
//     extension-list  = 1#extension
//     extension       = extension-token *( ";" extension-param )
//     extension-param = token [ "=" ( token / quoted-string ) ]
//
// A quoted value must be a token once unescaped. Spaces and tabs are allowed around every
// separator, and empty list elements are skipped (RFC 9110 §5.6.1). Anything else is malformed:
// the error says what was found where, so a server can answer 400 with it.

/// One `name[=value]` parameter of an extension.
public struct ExtensionParameter: Hashable, Sendable {
    public var name: String
    /// Nil for a parameter without `=`; quoted values arrive unquoted.
    public var value: String?

    public init(_ name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// One extension in the header, with its parameters in the order they were written.
public struct ExtensionElement: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var parameters: [ExtensionParameter]

    public init(name: String, parameters: [ExtensionParameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// Whether this element names the extension `name` (ASCII case-insensitive, as tokens are).
    public func isNamed(_ name: String) -> Bool {
        HTTPSyntax.equalsIgnoringASCIICase(self.name, name)
    }

    /// As it goes in the header: `name; a; b=1`.
    public var description: String { ExtensionHeader.render([self]) }
}

public struct ExtensionHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "malformed \(ExtensionHeader.name): \(reason)" }
}

public enum ExtensionHeader {
    public static let name = "Sec-WebSocket-Extensions"

    /// The elements of every Sec-WebSocket-Extensions field of a head, in order (several fields
    /// are one list, RFC 9110 §5.3). Empty when there is none.
    public static func elements(of headers: [(name: String, value: String)]) throws(ExtensionHeaderError) -> [ExtensionElement] {
        var elements: [ExtensionElement] = []
        for header in headers where HTTPSyntax.equalsIgnoringASCIICase(header.name, name) {
            elements += try parse(header.value)
        }
        return elements
    }

    /// The elements of one field value.
    public static func parse(_ value: String) throws(ExtensionHeaderError) -> [ExtensionElement] {
        var scanner = Scanner(Array(value.utf8))
        return try scanner.list()
    }

    /// A field value: the elements separated by ", ". Values must be tokens, as §9.1 wants even
    /// of quoted ones, so none needs quoting.
    public static func render(_ elements: [ExtensionElement]) -> String {
        elements.map { element in
            var text = element.name
            for parameter in element.parameters {
                text += "; " + parameter.name
                if let value = parameter.value {
                    precondition(isToken(value), "an extension parameter's value must be a token, got '\(value)'")
                    text += "=" + value
                }
            }
            return text
        }.joined(separator: ", ")
    }

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(HTTPSyntax.isTokenByte)
    }

    /// A cursor over one field value.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        var atEnd: Bool { index == bytes.count }
        var current: UInt8 { bytes[index] }

        mutating func list() throws(ExtensionHeaderError) -> [ExtensionElement] {
            var elements: [ExtensionElement] = []
            while true {
                skipWhitespace()
                if atEnd { break }
                if current == UInt8(ascii: ",") {  // an empty element
                    index += 1
                    continue
                }
                elements.append(try element())
                skipWhitespace()
                if atEnd { break }
                guard current == UInt8(ascii: ",") else { throw unexpected("',' or ';'") }
                index += 1
            }
            return elements
        }

        mutating func element() throws(ExtensionHeaderError) -> ExtensionElement {
            var element = ExtensionElement(name: try token("an extension name"))
            while true {
                skipWhitespace()
                guard !atEnd, current == UInt8(ascii: ";") else { return element }
                index += 1
                skipWhitespace()
                let name = try token("a parameter name")
                skipWhitespace()
                var value: String?
                if !atEnd && current == UInt8(ascii: "=") {
                    index += 1
                    skipWhitespace()
                    value = !atEnd && current == UInt8(ascii: "\"") ? try quotedToken(for: name) : try token("a value for \(name)")
                }
                element.parameters.append(ExtensionParameter(name, value: value))
            }
        }

        mutating func token(_ what: String) throws(ExtensionHeaderError) -> String {
            let start = index
            while !atEnd && HTTPSyntax.isTokenByte(current) { index += 1 }
            guard index > start else { throw unexpected(what) }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A quoted-string whose unescaped content is a token (§9.1).
        mutating func quotedToken(for parameter: String) throws(ExtensionHeaderError) -> String {
            let open = index
            index += 1
            var content: [UInt8] = []
            while true {
                guard !atEnd else { throw ExtensionHeaderError("the quoted value of \(parameter) at offset \(open) is not closed") }
                let byte = current
                index += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") {
                    guard !atEnd else { throw ExtensionHeaderError("the quoted value of \(parameter) ends with a lone '\\'") }
                    content.append(current)
                    index += 1
                } else {
                    content.append(byte)
                }
            }
            guard !content.isEmpty, content.allSatisfy(HTTPSyntax.isTokenByte) else {
                throw ExtensionHeaderError("the quoted value of \(parameter) at offset \(open) is not a token once unquoted")
            }
            return String(decoding: content, as: UTF8.self)
        }

        mutating func skipWhitespace() {
            while !atEnd && (current == 0x20 || current == 0x09) { index += 1 }
        }

        func unexpected(_ expected: String) -> ExtensionHeaderError {
            if atEnd { return ExtensionHeaderError("expected \(expected) at the end") }
            let byte = current
            let shown = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
            return ExtensionHeaderError("expected \(expected) at offset \(index), found \(shown)")
        }
    }
}
