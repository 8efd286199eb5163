#!/usr/bin/env bash
# The chaos suite: hostile peers and faults against echo-server, each beside a
# healthy room that wsbench measures (chaos_test.py says which and what is
# checked). Builds the release binaries first.
#
#   Tests/Chaos/run.sh [--room-size N] [--healthy-size N] [--only NAME,...] [--report FILE]
#
# Defaults: the slow reader sits in a room of 10,000; the healthy room beside
# the other faults has 1,000 members. About five minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One product per call: given two --product flags, swift build builds only the last one.
for product in echo-server wsbench; do swift build -c release --product "$product" >/dev/null; done
ulimit -n 20000
exec python3 Tests/Chaos/chaos_test.py --server .build/release/echo-server --wsbench .build/release/wsbench "$@"
