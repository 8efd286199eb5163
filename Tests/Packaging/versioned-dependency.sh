#!/usr/bin/env bash
# The framework as others use it: a package that depends on this one by
# version (a tag), not by path, imports PushServer and ChatStore (which links
# the system's SQLite through a system-library target) and builds in release mode.
# SwiftPM holds versioned dependencies to stricter rules than the root
# package (unsafe flags, for one), so building here proves nothing about them.
#
#   Tests/Packaging/versioned-dependency.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# A copy of the committed tree, tagged as a release.
git clone -q . "$WORK/fanout"
git -C "$WORK/fanout" tag 99.0.0

mkdir -p "$WORK/consumer/Sources/consumer"
cat > "$WORK/consumer/Package.swift" <<MANIFEST
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [.package(url: "file://$WORK/fanout", exact: "99.0.0")],
    targets: [.executableTarget(name: "consumer", dependencies: [
        .product(name: "PushServer", package: "fanout"),
        .product(name: "ChatStore", package: "fanout"),
    ])]
)
MANIFEST
cat > "$WORK/consumer/Sources/consumer/main.swift" <<'SOURCE'
import ChatStore
import PushServer

var configuration = ServerConfiguration()
configuration.port = 0
let server = PushServer(configuration: configuration)
server.get("/") { _ in HTTPReply(contentType: "text/plain", body: "ok\n") }
print("consumer built against PushServer, default port \(ServerConfiguration().port), and ChatStore, schema version \(ChatStore.schemaVersion)")
SOURCE

swift build -c release --package-path "$WORK/consumer" 2>&1 | tail -3
"$WORK/consumer/.build/release/consumer"
