/// Number formatting for the report and the live line, without Foundation.
enum Format {
    /// `value` with exactly `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let integer = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = String(integer / divisor)
        if digits > 0 {
            let fraction = String(integer % divisor)
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return value < 0 && integer != 0 ? "-" + text : text
    }

    /// A duration in the unit that keeps 3 significant digits or so: 850ns, 12.3us, 4.56ms, 1.20s.
    static func duration(_ nanoseconds: UInt64) -> String {
        let value = Double(nanoseconds)
        switch nanoseconds {
        case ..<1_000: return "\(nanoseconds)ns"
        case ..<1_000_000: return significant(value / 1e3) + "us"
        case ..<1_000_000_000: return significant(value / 1e6) + "ms"
        default: return significant(value / 1e9) + "s"
        }
    }

    /// A rate or count: one decimal below 100, whole below 10,000, then k, M, G.
    static func count(_ value: Double) -> String {
        switch abs(value) {
        case ..<100: return value == value.rounded() ? String(Int64(value)) : fixed(value, 1)
        case ..<10_000: return String(Int64(value.rounded()))
        case ..<10_000_000: return significant(value / 1e3) + "k"
        case ..<10_000_000_000: return significant(value / 1e6) + "M"
        default: return significant(value / 1e9) + "G"
        }
    }

    private static func significant(_ value: Double) -> String {
        fixed(value, value < 10 ? 2 : value < 100 ? 1 : 0)
    }

    /// Right-aligns `text` in `width` columns.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    static func padRight(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
