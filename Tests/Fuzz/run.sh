#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer + AddressSanitizer, from the Swift
# toolchain) and runs one of them for SECONDS.
#
#   Tests/Fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#   Tests/Fuzz/run.sh --list
#
# TARGET is a directory name under Tests/Fuzz/Targets (frame-reader,
# http-head, client-handshake, events-wire-format). The run starts from the committed seeds in
# Tests/Fuzz/Corpus/TARGET and keeps what it finds in
# Tests/Fuzz/.build/corpus/TARGET (out of git; later runs start from it too).
# A crash or a broken invariant stops the run, exits 1 and leaves the input in
# Tests/Fuzz/.build/crashes/; replay it with
#   Tests/Fuzz/.build/release/fuzz-TARGET FILE
# and turn it into an XCTest case in the module's test target.
# The last line is a summary: executions, exec/s, and libFuzzer's coverage
# figures (cov: covered edges, ft: features, corp: inputs kept).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

targets() { sed -n 's/^ *fuzzTarget("\([^"]*\)".*/\1/p' Package.swift; }

if [[ "${1:-}" == "--list" ]]; then targets; exit 0; fi
if [[ $# -lt 2 || ! "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer options...]   (targets: $(targets | tr '\n' ' '))" >&2
    exit 2
fi
target="$1"
seconds="$2"
shift 2
if ! targets | grep -qx "$target"; then
    echo "run.sh: no fuzz target '$target' (targets: $(targets | tr '\n' ' '))" >&2
    exit 2
fi

# SwiftPM's own --sanitize=fuzzer links libFuzzer but does not instrument
# the code for coverage, so the flag goes to swiftc directly. -enable-testing
# lets a target import a module @testable (events-wire-format reads Packet).
build_log="$here/.build/fuzz-build.log"
mkdir -p "$here/.build"
# The build plan is kept while the manifests are unchanged, so a source file added to the
# project since the last run is missing from it ("cannot find ... in scope"): plan again
# whenever the project's list of sources changed.
sources_list="$here/.build/project-sources.list"
find "$here/../../Sources" -type f | sort >"$sources_list.new"
if ! cmp -s "$sources_list.new" "$sources_list"; then
    rm -f "$here"/.build/*.yaml "$here"/.build/*/description.json
fi
mv "$sources_list.new" "$sources_list"
if ! swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing >"$build_log" 2>&1; then
    grep -v 'Cannot export local symbol' "$build_log" | tail -40 >&2
    echo "run.sh: the fuzz build failed (log: $build_log)" >&2
    exit 1
fi

corpus="$here/.build/corpus/$target"
crashes="$here/.build/crashes"
log="$here/.build/fuzz-$target.log"
mkdir -p "$corpus" "$crashes"
echo "fuzz-$target: ${seconds}s, corpus $corpus (+ seeds in Corpus/$target), log $log"
set +e
"$here/.build/release/fuzz-$target" "$corpus" "$here/Corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=8192 \
    -artifact_prefix="$crashes/$target-" -print_final_stats=1 "$@" >"$log" 2>&1
status=$?
set -e

last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
echo "fuzz-$target: ${runs:-?} executions, ${rate:-?} exec/s; last: ${last:-none}"
if [[ $status -ne 0 ]]; then
    grep -E 'invariant broken|ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log" | head -5 >&2 || true
    grep -E '^artifact_prefix|Test unit written' "$log" >&2 || true
    echo "run.sh: fuzz-$target FAILED (exit $status); full log: $log" >&2
    exit 1
fi
