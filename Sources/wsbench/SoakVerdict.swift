/// Whether a soak stayed flat (README, "Soak"). The samples taken in the
/// warm-up, by default the first max(one interval, 10% of the soak), are left out: the
/// allocator, the kernel's socket buffers and the room's history fill then.
/// Through the rest, each series gets a least-squares line; its drift is the
/// line's rise from the first judged sample to the last, as a share of the
/// series' mean. A series is flat when that is within ±2%. A fitted line
/// rather than first-against-last, so one noisy sample neither hides nor
/// fakes a trend; a leak of a few bytes per message still shows, because it
/// grows with time and the line follows it.
struct SoakVerdict: Sendable, Equatable {
    static let tolerance = 0.02
    static let minimumJudgedSamples = 3

    struct Series: Sendable, Equatable {
        var name: String
        var first: Double
        var last: Double
        /// The fitted rise over the judged samples / their mean.
        var drift: Double
        var isFlat: Bool { abs(drift) <= SoakVerdict.tolerance }
    }

    var warmUpNanoseconds: UInt64
    var judgedSamples: Int
    var series: [Series]

    /// `warmUpNanoseconds`: nil for max(one interval, 10% of the soak).
    init(samples: [SoakSample], soakNanoseconds: UInt64, intervalNanoseconds: UInt64, warmUpNanoseconds: UInt64? = nil) {
        let warmUp = warmUpNanoseconds ?? max(intervalNanoseconds, soakNanoseconds / 10)
        self.warmUpNanoseconds = warmUp
        let judged = samples.filter { $0.elapsedNanoseconds > warmUp }
        judgedSamples = judged.count
        series = []
        guard judged.count >= Self.minimumJudgedSamples else { return }
        let readings: [(String, (SoakSample) -> Int?)] = [
            ("server RSS", { $0.server?.residentBytes }),
            ("server descriptors", { $0.server?.openDescriptors }),
            ("wsbench RSS", { $0.client.residentBytes }),
            ("wsbench descriptors", { $0.client.openDescriptors }),
        ]
        for (name, reading) in readings {
            let values = judged.compactMap(reading)
            guard values.count == judged.count else { continue }  // not sampled (no --server-pid) or gone
            let times = judged.map(\.elapsedSeconds)
            series.append(Series(
                name: name, first: Double(values.first!), last: Double(values.last!),
                drift: Self.drift(times: times, values: values.map(Double.init))))
        }
    }

    /// Why the soak fails; empty when it is flat.
    var failures: [String] {
        if judgedSamples < Self.minimumJudgedSamples {
            return ["\(judgedSamples) samples after the warm-up, too few to judge drift (need \(Self.minimumJudgedSamples): "
                + "a longer --soak or a shorter --sample-interval)"]
        }
        return series.filter { !$0.isFlat }.map {
            "\($0.name) drifted \(Format.fixed($0.drift * 100, 1))% after the warm-up (limit ±\(Format.fixed(Self.tolerance * 100, 0))%)"
        }
    }

    /// The least-squares line's rise across `times`, over the mean of `values`.
    static func drift(times: [Double], values: [Double]) -> Double {
        let count = Double(values.count)
        let meanTime = times.reduce(0, +) / count
        let meanValue = values.reduce(0, +) / count
        guard meanValue != 0 else { return 0 }
        var covariance = 0.0
        var variance = 0.0
        for (time, value) in zip(times, values) {
            covariance += (time - meanTime) * (value - meanValue)
            variance += (time - meanTime) * (time - meanTime)
        }
        guard variance > 0 else { return 0 }
        return covariance / variance * (times.last! - times.first!) / meanValue
    }
}

/// A soak's samples and their verdict, for the reports.
struct SoakResult: Sendable {
    var intervalNanoseconds: UInt64
    var samples: [SoakSample]
    var verdict: SoakVerdict
}
