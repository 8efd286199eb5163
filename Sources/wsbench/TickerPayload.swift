/// `--payload ticker`: each message a JSON quote feed of exactly `-s` bytes, sent as a text
/// frame, so compression (permessage-deflate) meets what real feeds carry: repeated keys and
/// symbols, prices that move a little, volumes and an order id that do not repeat. wsbench's
/// text header is the value of the first member, so loss and latency are checked as ever:
///
///     {"wsb":"wst1<sender><sequence><time>","q":[{"s":"AAPL","b":187.31,"a":187.33,"bs":300,"as":500,"v":1200,"c":-0.42},...],"id":"k3j9..."}
///
/// The quotes and the id come from a fixed pool of messages made once per run (64, or fewer when
/// large), so a run costs no JSON formatting per message; only the header changes.
enum TickerPayload {
    /// `{"wsb":"` + header + `","q":[]}`, with room to spare.
    static let minimumSize = 64
    /// Where the text header starts.
    static let headerOffset = prefix.count
    static let prefix = Array(#"{"wsb":""#.utf8)

    /// `count` distinct messages of exactly `size` bytes, header bytes zeroed.
    static func pool(size: Int, count requested: Int = 64) -> [[UInt8]] {
        precondition(size >= minimumSize)
        return feed(size: size, count: poolCount(size: size, requested: requested), header: true)
    }

    /// The same quote feed; without `header`, `{"q":[...]...}` from 8 bytes up (for measuring
    /// small messages, `--deflate-sizes`).
    static func feed(size: Int, count: Int, header: Bool) -> [[UInt8]] {
        var random = FastRandom(seed: 0x7469_636B_6572)  // "ticker"
        var prices = symbols.map { _ in 20.0 + Double(random.next() % 48_000) / 100 }
        let opening = header ? prefix + [UInt8](repeating: 0, count: TextMessageHeader.size) + Array(#"","q":["#.utf8)
                             : Array(#"{"q":["#.utf8)
        return (0..<count).map { _ in message(opening, size: size, prices: &prices, random: &random) }
    }

    /// How many messages a pool holds: at most 64 MiB of them, and at least one.
    static func poolCount(size: Int, requested: Int = 64) -> Int {
        max(1, min(requested, (64 << 20) / size))
    }

    private static let symbols = [
        "AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "BRK.B", "JPM", "V", "UNH", "XOM", "JNJ", "WMT", "MA",
        "PG", "HD", "CVX", "MRK", "ABBV", "KO", "PEP", "AVGO", "COST", "ADBE", "CSCO", "CRM", "TMO", "MCD", "ACN",
        "NFLX", "AMD", "INTC", "ORCL", "QCOM", "TXN", "IBM", "BA", "CAT", "GS",
    ]

    private static func message(_ opening: [UInt8], size: Int, prices: inout [Double], random: inout FastRandom) -> [UInt8] {
        var out = opening
        let closing = 2  // "]}"
        var first = true
        while true {
            let index = Int(random.next() % UInt64(symbols.count))
            // A random walk of a few cents either way, never below a dollar.
            prices[index] = max(1, prices[index] + Double(Int(random.next() % 41) - 20) / 100)
            let quote = Array(quoteText(symbols[index], price: prices[index], random: &random).utf8)
            let separator = first ? 0 : 1
            guard out.count + separator + quote.count + closing <= size else { break }
            if !first { out.append(UInt8(ascii: ",")) }
            out += quote
            first = false
        }
        out.append(UInt8(ascii: "]"))
        // An order id fills the rest exactly; a gap too short for one is whitespace, which JSON allows.
        let room = size - out.count - 1
        let idOverhead = #","id":"""#.utf8.count
        if room >= idOverhead {
            out += Array(#","id":""#.utf8)
            for _ in 0..<(room - idOverhead) { out.append(idAlphabet[Int(random.next() % UInt64(idAlphabet.count))]) }
            out.append(UInt8(ascii: "\""))
        } else {
            out += [UInt8](repeating: UInt8(ascii: " "), count: room)
        }
        out.append(UInt8(ascii: "}"))
        precondition(out.count == size, "a ticker message of \(out.count) bytes, not \(size)")
        return out
    }

    private static let idAlphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    private static func quoteText(_ symbol: String, price: Double, random: inout FastRandom) -> String {
        let spread = 1 + Int(random.next() % 4)
        let bid = Int((price * 100).rounded())
        let change = Int(random.next() % 801) - 400
        return #"{"s":"\#(symbol)","b":\#(cents(bid)),"a":\#(cents(bid + spread)),"bs":\#(100 * (1 + random.next() % 20)),"#
            + #""as":\#(100 * (1 + random.next() % 20)),"v":\#(random.next() % 90_000 + 100),"c":\#(cents(change))}"#
    }

    /// 18731 → "187.31", -42 → "-0.42".
    private static func cents(_ value: Int) -> String {
        let magnitude = abs(value)
        let fraction = magnitude % 100
        return (value < 0 ? "-" : "") + "\(magnitude / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}

/// Reads the header of a ticker message: the text header inside its first member.
enum TickerMessageHeader: HeaderFormat {
    static var isText: Bool { true }
    static var countsByTransport: Bool { false }

    @inline(__always)
    static func read(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields? {
        let offset = TickerPayload.headerOffset
        guard count >= TickerPayload.minimumSize,
              UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self)) == prefixWord else { return nil }
        return TextMessageHeader.read(payload + offset, count: count - offset)
    }

    /// `{"wsb":"` read as a little-endian word, to compare in one load.
    static var prefixWord: UInt64 { 0x223A_2262_7377_227B }
}
