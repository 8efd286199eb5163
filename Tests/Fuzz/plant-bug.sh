#!/usr/bin/env bash
# Proves the frame-reader target finds a planted off-by-one in the frame
# length parser: copies the tree to a temporary directory, plants the bug
# there (never in Sources), builds the fuzz targets in the copy and fuzzes
# until the first crash or SECONDS (default 600). Exit 0 when the bug was
# found, with the time it took; 1 when it was not.
#
#   Tests/Fuzz/plant-bug.sh [--plant bound|value] [--no-seeds] [SECONDS]
#
# --no-seeds starts from an empty corpus: the time then says how fast the
# fuzzer finds the bug on its own, not whether a seed happens to hit it.
#
#   bound (default): the 64-bit length is read once 9 bytes are there, not 10:
#         a read one byte past the input (AddressSanitizer's to catch).
#   value: the 16-bit length is taken one too large: the frame swallows a byte
#         of the next one, in bounds (the invariants' to catch: the frame no
#         longer re-encodes to its bytes).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

plant=bound
seeds=Corpus/frame-reader
while [[ "${1:-}" == --* ]]; do
    case "$1" in
        --plant) plant="${2:-}"; shift 2 ;;
        --no-seeds) seeds=""; shift ;;
        *) echo "usage: $0 [--plant bound|value] [--no-seeds] [SECONDS]" >&2; exit 2 ;;
    esac
done
seconds="${1:-600}"
case "$plant" in
    bound) original='if available < 10 { return (.needMore, offset) }'
           planted='if available < 9 { return (.needMore, offset) }' ;;
    value) original='length = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)))'
           planted='length = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))) + 1' ;;
    *) echo "usage: $0 [--plant bound|value] [--no-seeds] [SECONDS]" >&2; exit 2 ;;
esac

copy="$(mktemp -d /tmp/fanout-planted.XXXXXX)"
trap 'rm -rf "$copy"' EXIT
# The tracked and new (not ignored) files, as they are in the working tree.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$copy"

reader="$copy/Sources/WebSocketCodec/WebSocketReader.swift"
if [[ $(grep -cF "$original" "$reader") -ne 1 ]]; then
    echo "plant-bug.sh: the line to plant the '$plant' bug in is not in WebSocketReader.swift (was it rewritten?):" >&2
    echo "  $original" >&2
    exit 1
fi
ORIGINAL="$original" PLANTED="$planted" perl -pi -e 's/\Q$ENV{ORIGINAL}\E/$ENV{PLANTED}/' "$reader"
echo "planted ($plant) in a copy at $copy:"
diff -u "$root/Sources/WebSocketCodec/WebSocketReader.swift" "$reader" | sed -n '/^[-+] /p' || true

cd "$copy/Tests/Fuzz"
if ! swift build -c release -Xswiftc -sanitize=fuzzer,address >build.log 2>&1; then
    grep -v 'Cannot export local symbol' build.log | tail -30 >&2
    echo "plant-bug.sh: the build of the copy failed" >&2
    exit 1
fi
mkdir -p corpus
start=$EPOCHREALTIME
set +e
.build/release/fuzz-frame-reader corpus $seeds -max_total_time="$seconds" -timeout=10 \
    -max_len=8192 -artifact_prefix="$copy/" >fuzz.log 2>&1
status=$?
set -e
elapsed=$(awk "BEGIN { print $EPOCHREALTIME - $start }")
runs=$(grep -oE '^#[0-9]+' fuzz.log | tail -1 | tr -d '#' || true)
if [[ $status -eq 0 ]]; then
    echo "plant-bug.sh: NOT FOUND: the '$plant' bug survived ${seconds}s of fuzzing (${runs:-?} executions)" >&2
    exit 1
fi
start_from="from an empty corpus"
[[ -n "$seeds" ]] && start_from="seeds loaded included"
printf 'plant-bug.sh: found the %s bug after %.1f s (%s executions, %s):\n' "$plant" "$elapsed" "${runs:-?}" "$start_from"
grep -E 'invariant broken|ERROR: AddressSanitizer' fuzz.log | head -2 || true
grep -A1 -E '^MS: ' fuzz.log | tail -1 | cut -c1-200 || true
