// swift-tools-version:6.2
import PackageDescription

// The fuzz targets: libFuzzer executables built only by `Tests/Fuzz/run.sh`
// (`swift build --sanitize=fuzzer --sanitize=address` in this directory), so
// the project's own `swift build` and `swift test` never see them.
//
// Each target is one directory under Targets/: a file with the callback
// libFuzzer calls with each input, a main.swift that hands it to
// `runLibFuzzer`, and a seed corpus under Corpus/ of the same name.
// To add one (the events wire format, when its module lands):
//   1. Targets/events-wire-format/EventsWireFormatFuzz.swift and main.swift,
//      modelled on Targets/frame-reader: decode the input, assert invariants (a decoded
//      packet re-encodes to bytes that decode to the same packet; an ack id,
//      a namespace, an attachment count stay in their bounds; nothing is
//      consumed past the input), trap through `invariant`.
//   2. A line below: fuzzTarget("events-wire-format", product: "<the module>").
//   3. Corpus/events-wire-format/: a few packets from the module's tests.
// run.sh, .ci/run and the README's table take the list of targets from here.
let package = Package(
    name: "FanoutFuzz",
    dependencies: [.package(name: "Fanout", path: "../..")],
    targets: [
        .target(name: "LibFuzzerDriver", path: "Targets/LibFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["LibFuzzerDriver"], path: "Targets/FuzzSupport"),
        fuzzTarget("frame-reader", product: "WebSocketCodec"),
        fuzzTarget("http-head", product: "WebSocketCodec"),
        fuzzTarget("client-handshake", product: "WebSocketCodec"),
    ]
)

func fuzzTarget(_ name: String, product: String) -> Target {
    .executableTarget(
        name: "fuzz-" + name,
        dependencies: ["FuzzSupport", .product(name: product, package: "Fanout")],
        path: "Targets/" + name)
}
