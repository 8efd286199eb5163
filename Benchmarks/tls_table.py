#!/usr/bin/env python3
"""Plain TCP against TLS, side by side, from the wsbench JSON files of Benchmarks/tls.sh.

    python3 Benchmarks/tls_table.py DIR     (reads DIR/tls-{echo-100,echo-1000,ladder}-{plain,tls}.json)

Each row gives the plain figure, the TLS figure and TLS / plain. The client's
CPU is shown where it may have been the limit (wsbench decrypts too).
"""
import json
import os
import sys

directory = sys.argv[1]


def load(name):
    path = os.path.join(directory, f"tls-{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def ratio(plain, tls):
    return f"{tls / plain:.2f}" if plain and tls else "-"


print("| measure | plain | TLS | TLS / plain |")
print("|---|---:|---:|---:|")
for connections in (100, 1000):
    plain, tls = load(f"echo-{connections}-plain"), load(f"echo-{connections}-tls")
    if not plain or not tls:
        continue
    p, t = plain["measured"], tls["measured"]
    print(f"| echo, {connections:,} connections: server µs per message | {p['server_us_per_message']:.2f} "
          f"| {t['server_us_per_message']:.2f} | {ratio(p['server_us_per_message'], t['server_us_per_message'])} |")
    print(f"| echo, {connections:,} connections: messages/s (closed loop; client CPU) | {p['received_per_second']:,.0f} "
          f"({p['client_cpu_percent']:.0f}%) | {t['received_per_second']:,.0f} ({t['client_cpu_percent']:.0f}%) "
          f"| {ratio(p['received_per_second'], t['received_per_second'])} |")
    print(f"| echo, {connections:,} connections: p99 latency | {p['latency_ns']['p99'] / 1e6:.2f} ms "
          f"| {t['latency_ns']['p99'] / 1e6:.2f} ms | {ratio(p['latency_ns']['p99'], t['latency_ns']['p99'])} |")
plain, tls = load("ladder-plain"), load("ladder-tls")
if plain and tls:
    p, t = plain["ladder"]["highest_kept_up_rate"], tls["ladder"]["highest_kept_up_rate"]
    print(f"| 1 → 1,000: highest rate kept up (msg/s) | {p or 'none'} | {t or 'none'} | {ratio(p, t)} |")
    rungs = {rung["window"]["rate"]: rung["window"] for rung in plain["ladder"]["rungs"]}
    for rung in tls["ladder"]["rungs"]:
        window, rate = rung["window"], rung["window"]["rate"]
        if rate not in rungs:
            continue
        base = rungs[rate]
        print(f"| 1 → 1,000 at {rate:,} msg/s: server µs per delivery; p99; client CPU "
              f"| {base['server_us_per_message']:.2f}; {base['latency_ns']['p99'] / 1e6:.1f} ms; {base['client_cpu_percent']:.0f}% "
              f"| {window['server_us_per_message']:.2f}; {window['latency_ns']['p99'] / 1e6:.1f} ms; {window['client_cpu_percent']:.0f}% "
              f"| {ratio(base['server_us_per_message'], window['server_us_per_message'])} |")
