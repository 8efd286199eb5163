/// JSON string literals.
public enum JSONString {
    /// `utf8` as a quoted JSON string; with `htmlSafe`, also safe inside a `<script>` element.
    public static func quoted(_ utf8: [UInt8], htmlSafe: Bool = false) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 2)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array(unicodeEscape(UInt16(byte)).utf8)
            case UInt8(ascii: "<") where htmlSafe, UInt8(ascii: ">") where htmlSafe, UInt8(ascii: "&") where htmlSafe:
                out += Array(unicodeEscape(UInt16(byte)).utf8)
            case 0xE2 where htmlSafe && index + 2 < utf8.count && utf8[index + 1] == 0x80 && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                // U+2028 / U+2029 end a line in older JavaScript.
                out += Array(unicodeEscape(utf8[index + 2] == 0xA8 ? 0x2028 : 0x2029).utf8)
                index += 2
            default: out.append(byte)
            }
            index += 1
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static func unicodeEscape(_ value: UInt16) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
