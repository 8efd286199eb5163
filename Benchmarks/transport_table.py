#!/usr/bin/env python3
"""One table comparing the transport runs of Benchmarks/transports.sh, rung by
rung, from their wsbench JSON files.

    python3 Benchmarks/transport_table.py results/transport-websocket.json results/transport-sse.json ...
"""
import json
import os
import sys

print("| msg/s | transport | deliveries/s | server CPU | server µs/delivery | p50 | p99 | wsbench CPU | lost |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
runs = [(os.path.basename(path)[len("transport-"):-len(".json")], json.load(open(path))) for path in sys.argv[1:]]
rates = sorted({rung["window"]["rate"] for _, run in runs for rung in run["ladder"]["rungs"]})
for rate in rates:
    for name, run in runs:
        for rung in run["ladder"]["rungs"]:
            window = rung["window"]
            if window["rate"] != rate:
                continue
            server_share = 100 * window["server_cpu_seconds"] * 1e9 / window["measured_ns"]
            latency = window["latency_ns"]
            print(f"| {rate:,} | {name} | {window['received_per_second'] / 1e6:.2f} M | {server_share:.0f}% "
                  f"| {window['server_us_per_message']:.2f} | {latency['p50'] / 1e6:.1f} ms | {latency['p99'] / 1e6:.1f} ms "
                  f"| {window['client_cpu_percent']:.0f}% | {window['lost']:,} |")
