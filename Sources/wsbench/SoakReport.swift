import Glibc

/// A soak's samples as a table (stdout), CSV (`--soak-csv`) and JSON (`soak` in `--json`).
enum SoakReport {
    static let csvHeader = "elapsed_s,open_connections,received,lost,errors,p50_ms,p99_ms,max_ms,"
        + "server_rss_bytes,server_fds,client_rss_bytes,client_fds"

    static func csv(_ soak: SoakResult) -> String {
        var lines = [csvHeader]
        for sample in soak.samples {
            let cells: [String] = [
                Format.fixed(sample.elapsedSeconds, 1), String(sample.openConnections), String(sample.received),
                String(sample.lost), String(sample.errors),
                milliseconds(sample.p50Nanoseconds), milliseconds(sample.p99Nanoseconds), milliseconds(sample.maxNanoseconds),
                optional(sample.server?.residentBytes), optional(sample.server?.openDescriptors),
                optional(sample.client.residentBytes), optional(sample.client.openDescriptors),
            ]
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func write(_ soak: SoakResult, to path: String) -> Bool {
        guard let file = fopen(path, "w") else { return false }
        let text = Array(csv(soak).utf8)
        let written = text.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        return fclose(file) == 0 && written == text.count
    }

    static func text(_ soak: SoakResult) -> String {
        let interval = Format.duration(soak.intervalNanoseconds)
        let warmUp = Format.duration(soak.verdict.warmUpNanoseconds)
        var lines = ["Soak          a sample every \(interval); warm-up (not judged) \(warmUp)"]
        let columns = ["t", "open", "recv", "lost", "p50", "p99", "max", "srv RSS", "srv fds", "own RSS", "own fds"]
        lines.append("  " + columns.map { Format.pad($0, 9) }.joined())
        for sample in soak.samples {
            let cells: [String] = [
                Format.duration(sample.elapsedNanoseconds), String(sample.openConnections), Format.count(Double(sample.received)),
                String(sample.lost), duration(sample.p50Nanoseconds), duration(sample.p99Nanoseconds), duration(sample.maxNanoseconds),
                mebibytes(sample.server?.residentBytes), count(sample.server?.openDescriptors),
                mebibytes(sample.client.residentBytes), count(sample.client.openDescriptors),
            ]
            lines.append("  " + cells.map { Format.pad($0, 9) }.joined())
        }
        for series in soak.verdict.series {
            let isMemory = series.name.hasSuffix("RSS")
            let first = isMemory ? Format.fixed(series.first / 1_048_576, 1) + " MiB" : Format.fixed(series.first, 0)
            let last = isMemory ? Format.fixed(series.last / 1_048_576, 1) + " MiB" : Format.fixed(series.last, 0)
            let drift = Format.fixed(series.drift * 100, 2)
            lines.append("  \(Format.padRight(series.name, 20)) \(first) → \(last), drift \(drift)%: " + (series.isFlat ? "flat" : "NOT flat"))
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ soak: SoakResult) -> JSONValue {
        func integer(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
        func integer(_ value: UInt64?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
        return .object([
            ("interval_ns", .integer(Int64(soak.intervalNanoseconds))),
            ("warmup_ns", .integer(Int64(soak.verdict.warmUpNanoseconds))),
            ("judged_samples", .integer(Int64(soak.verdict.judgedSamples))),
            ("tolerance", .number(SoakVerdict.tolerance)),
            ("flat", .bool(soak.verdict.failures.isEmpty)),
            ("series", .array(soak.verdict.series.map { series in
                .object([
                    ("name", .string(series.name)), ("first", .number(series.first)), ("last", .number(series.last)),
                    ("drift", .number(series.drift)), ("flat", .bool(series.isFlat)),
                ])
            })),
            ("samples", .array(soak.samples.map { sample in
                .object([
                    ("elapsed_ns", .integer(Int64(sample.elapsedNanoseconds))),
                    ("open_connections", .integer(Int64(sample.openConnections))),
                    ("received", .integer(Int64(sample.received))),
                    ("lost", .integer(sample.lost)),
                    ("errors", .integer(Int64(sample.errors))),
                    ("p50_ns", integer(sample.p50Nanoseconds)),
                    ("p99_ns", integer(sample.p99Nanoseconds)),
                    ("max_ns", integer(sample.maxNanoseconds)),
                    ("server_rss_bytes", integer(sample.server?.residentBytes)),
                    ("server_fds", integer(sample.server?.openDescriptors)),
                    ("client_rss_bytes", integer(sample.client.residentBytes)),
                    ("client_fds", integer(sample.client.openDescriptors)),
                ])
            })),
        ])
    }

    private static func milliseconds(_ nanoseconds: UInt64?) -> String {
        nanoseconds.map { Format.fixed(Double($0) / 1e6, 3) } ?? ""
    }

    private static func optional(_ value: Int?) -> String {
        value.map(String.init) ?? ""
    }

    private static func duration(_ nanoseconds: UInt64?) -> String {
        nanoseconds.map(Format.duration) ?? "-"
    }

    private static func count(_ value: Int?) -> String {
        value.map(String.init) ?? "-"
    }

    private static func mebibytes(_ bytes: Int?) -> String {
        bytes.map { Format.fixed(Double($0) / 1_048_576, 1) + "M" } ?? "-"
    }
}
