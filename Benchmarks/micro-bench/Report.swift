import Glibc

// The wall-clock results as a Markdown table (for people) and as JSON (for tools), without Foundation.

func markdownTable(_ timings: [Timing]) -> String {
    var lines = [
        "| benchmark | one op | ns/op | ops/s | GB/s | ns per item |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for timing in timings {
        let benchmark = timing.benchmark
        let perItem = benchmark.itemsPerIteration > 1
            ? "\(decimal(timing.nanosecondsPerItem, places: 2)) per \(benchmark.item)" : ""
        lines.append("| \(benchmark.name) | \(benchmark.operation) | \(significant(timing.nanosecondsPerOp)) "
            + "| \(grouped(Int(timing.opsPerSecond.rounded()))) | \(timing.gigabytesPerSecond.map { decimal($0, places: 2) } ?? "") "
            + "| \(perItem) |")
    }
    return lines.joined(separator: "\n") + "\n"
}

func json(_ timings: [Timing]) -> String {
    let entries = timings.map { timing in
        let benchmark = timing.benchmark
        var fields = [
            "\"name\": \(quoted(benchmark.name))",
            "\"operation\": \(quoted(benchmark.operation))",
            "\"iterations\": \(timing.iterations)",
            "\"repetitions\": \(timing.repetitions)",
            "\"bestSeconds\": \(number(timing.bestSeconds))",
            "\"nsPerOp\": \(number(timing.nanosecondsPerOp))",
            "\"opsPerSecond\": \(number(timing.opsPerSecond))",
        ]
        if let rate = timing.gigabytesPerSecond {
            fields.append("\"bytesPerOp\": \(benchmark.bytesPerIteration)")
            fields.append("\"gbPerSecond\": \(number(rate))")
        }
        if benchmark.itemsPerIteration > 1 {
            fields.append("\"item\": \(quoted(benchmark.item))")
            fields.append("\"itemsPerOp\": \(benchmark.itemsPerIteration)")
            fields.append("\"nsPerItem\": \(number(timing.nanosecondsPerItem))")
        }
        return "    {" + fields.joined(separator: ", ") + "}"
    }
    return "{\n  \"benchmarks\": [\n" + entries.joined(separator: ",\n") + "\n  ]\n}\n"
}

func write(_ text: String, to path: String) -> Bool {
    guard let file = fopen(path, "w") else { return false }
    defer { fclose(file) }
    return fputs(text, file) >= 0
}

// MARK: Number formatting

/// Three or four significant figures: 7.25, 48.3, 912, 12345.
func significant(_ value: Double) -> String {
    decimal(value, places: value < 10 ? 2 : value < 100 ? 1 : 0)
}

func decimal(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return "-" }
    var scale = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = Int((abs(value) * Double(scale)).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard places > 0 else { return sign + grouped(scaled) }
    let fraction = String(scaled % scale)
    return sign + grouped(scaled / scale) + "." + String(repeating: "0", count: places - fraction.count) + fraction
}

/// 1234567 as "1,234,567".
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return (value < 0 ? "-" : "") + out
}

/// A JSON number: finite doubles in Swift's shortest round-trip form are valid JSON.
private func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

private func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
