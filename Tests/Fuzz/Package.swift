// swift-tools-version:6.2
import PackageDescription

// The fuzz targets: libFuzzer executables built only by `Tests/Fuzz/run.sh`
// (`swift build --sanitize=fuzzer --sanitize=address` in this directory), so
// the project's own `swift build` and `swift test` never see them.
//
// Each target is one directory under Targets/: a file with the callback
// libFuzzer calls with each input, a main.swift that hands it to
// `runLibFuzzer`, and a seed corpus under Corpus/ of the same name.
// To add one: Targets/NAME/ with the callback (decode the input, assert
// invariants through `invariant`) and main.swift, modelled on
// Targets/frame-reader; a line below; seeds in Corpus/NAME (make_seeds.py).
// A target that needs a module's internals (events-wire-format reads
// `Packet`) imports it @testable: run.sh builds with -enable-testing.
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
        fuzzTarget("events-wire-format", product: "Events"),
    ]
)

func fuzzTarget(_ name: String, product: String) -> Target {
    .executableTarget(
        name: "fuzz-" + name,
        dependencies: ["FuzzSupport", .product(name: product, package: "Fanout")],
        path: "Targets/" + name)
}
