/// Decoding the parts of a request target the server reads: room names and
/// query values, the same way for every route that names a room.
public enum URLComponent {
    /// `%XX` decoded as UTF-8; nil for a malformed escape (both X must be
    /// hex digits) or bytes that are not UTF-8.
    public static func decoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let high = hexValue(utf8[utf8.startIndex]), let low = hexValue(utf8[utf8.startIndex + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            utf8 = utf8.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A room name from the part of a path after its route's prefix
    /// (`/room/`, `/sse/`, ...): percent-decoded, not empty, no slash; nil otherwise.
    public static func roomName(_ rest: some StringProtocol) -> String? {
        guard let name = decoded(String(rest)), !name.isEmpty, !name.contains("/") else { return nil }
        return name
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
