#!/usr/bin/env python3
"""The tables of Benchmarks/conflation.sh, from its wsbench JSON files and
the server's memory readings: the two ladders (a plain room, a conflating
one), then the runs at the conflating room's highest kept-up rate side by
side, with the full-speed subscribers' figures with slow ones beside them
over without. With --json, the same rows as JSON.

    python3 Benchmarks/conflation_table.py RESULTS_DIR MEMORY_DIR [--json conflation.json]

RESULTS_DIR holds conflation-{plain-ladder,ladder,all-fast,fast-alone,with-slow}.json;
MEMORY_DIR holds, per run, NAME.status (VmHWM and VmRSS lines of
/proc/PID/status) and NAME.ss (`ss -tmnH` of the server's sockets).
"""
import json
import os
import re
import sys

RUNS = [
    ("all-fast", "(a) 1,000 full-speed"),
    ("fast-alone", "(a') 900 full-speed alone"),
    ("with-slow", "(b) 900 full-speed + 100 slow"),
]


def load(directory, name):
    path = os.path.join(directory, f"conflation-{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def memory(directory, name):
    """Peak and current resident bytes, and socket send-buffer bytes (sum, largest, sockets over 1 MiB)."""
    result = {"peak_rss_bytes": None, "rss_bytes": None, "send_buffer_bytes": None, "largest_send_buffer_bytes": None,
              "sockets_over_1MiB": None}
    status = os.path.join(directory, f"{name}.status")
    if os.path.exists(status):
        for line in open(status):
            field, value = line.split(":", 1)
            key = {"VmHWM": "peak_rss_bytes", "VmRSS": "rss_bytes"}.get(field)
            if key:
                result[key] = int(value.split()[0]) * 1024
    sockets = os.path.join(directory, f"{name}.ss")
    if os.path.exists(sockets):
        # skmem's w is the bytes queued in the socket's send buffer (wmem_queued).
        queued = [int(match) for match in re.findall(r"skmem:\([^)]*?\bw(\d+)", open(sockets).read())]
        if queued:
            result["send_buffer_bytes"] = sum(queued)
            result["largest_send_buffer_bytes"] = max(queued)
            result["sockets_over_1MiB"] = sum(1 for value in queued if value > 1 << 20)
    return result


def ladder_rows(run):
    rows = []
    for rung in run["ladder"]["rungs"]:
        window = rung["window"]
        rows.append({
            "rate": window["rate"],
            "deliveries_per_second": window["received_per_second"],
            "p50_ms": window["latency_ns"]["p50"] / 1e6,
            "p99_ms": window["latency_ns"]["p99"] / 1e6,
            "server_us_per_delivery": window["server_us_per_message"],
            "kept_up": rung["passed"],
            "reason": rung["reason"],
        })
    return rows


def run_row(case, label, run, held):
    window = run["measured"]
    ticker = window["ticker"]
    fast, slow = ticker["fast"], ticker["slow"]
    server = ticker["server"] or {}
    return {
        "case": case,
        "run": label,
        "rate": window["rate"],
        "fast_subscribers": fast["receivers"],
        "slow_subscribers": slow["receivers"],
        "fast_deliveries_per_second": fast["received_per_second"],
        "fast_per_subscriber_per_second": fast["per_subscriber_per_second"],
        "fast_p50_ms": fast["latency_ns"]["p50"] / 1e6,
        "fast_p99_ms": fast["latency_ns"]["p99"] / 1e6,
        "fast_max_ms": fast["latency_ns"]["max"] / 1e6,
        "fast_lost": fast["lost"],
        "slow_per_subscriber_per_second": slow["per_subscriber_per_second"],
        "slow_staleness_p50_ms": slow["staleness_ns"]["p50"] / 1e6 if slow["receivers"] else None,
        "slow_staleness_p99_ms": slow["staleness_ns"]["p99"] / 1e6 if slow["receivers"] else None,
        "slow_skipped": slow["skipped"],
        "server_conflated": server.get("conflated"),
        "server_cpu_percent": 100 * window["server_cpu_seconds"] * 1e9 / window["measured_ns"],
        "server_us_per_delivery": window["server_us_per_message"],
        "client_cpu_percent": window["client_cpu_percent"],
        "passed": run["passed"],
        "failures": run["failures"],
        **held,
    }


def mebibytes(value):
    return "—" if value is None else f"{value / (1 << 20):.1f}"


def milliseconds(value):
    return "—" if value is None else (f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms")


def main():
    directory, memory_directory = sys.argv[1], sys.argv[2]
    json_path = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    summary = {"ladders": {}, "runs": [], "comparison": None}
    out = []

    ladders = [("plain-ladder", "plain room (broadcast, no conflate)"), ("ladder", "conflating room (ticker, nobody slow)")]
    present = [(name, title, load(directory, name)) for name, title in ladders]
    if any(run for _, _, run in present):
        out.append("#### The highest rate kept up with, 1 → 1,000, nobody slow")
        out.append("")
        out.append("| room | msg/s | deliveries/s | p50 | p99 | server µs/delivery | kept up |")
        out.append("|---|---:|---:|---:|---:|---:|---|")
        for name, title, run in present:
            if not run:
                continue
            rows = ladder_rows(run)
            summary["ladders"][name] = {"highest_kept_up_rate": run["ladder"]["highest_kept_up_rate"], "rungs": rows}
            for row in rows:
                kept = "yes" if row["kept_up"] else f"no: {row['reason']}"
                us = "—" if row["server_us_per_delivery"] is None else f"{row['server_us_per_delivery']:.3f}"
                out.append(f"| {title} | {row['rate']:,} | {row['deliveries_per_second'] / 1e6:.3f} M | {milliseconds(row['p50_ms'])} "
                           f"| {milliseconds(row['p99_ms'])} | {us} | {kept} |")
        out.append("")
        for name, title, run in present:
            if run:
                highest = run["ladder"]["highest_kept_up_rate"]
                out.append(f"- {title}: kept up with {highest:,} msg/s" if highest else f"- {title}: kept up with no rate")
        out.append("")

    rows = []
    for name, label in RUNS:
        run = load(directory, name)
        if run and "measured" in run:
            rows.append(run_row(name, label, run, memory(memory_directory, name)))
    summary["runs"] = rows
    if rows:
        out.append(f"#### At {rows[0]['rate']:,} updates/s, the conflating room's highest kept-up rate")
        out.append("")
        out.append("| run | full-speed deliveries/s (each) | full-speed p50 / p99 / max | slow reads/s each | slow staleness p50 / p99 "
                   "| skipped / server conflated | server CPU | server µs/delivery | server peak RSS | kernel send buffers (largest) | passed |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in rows:
            each = row["fast_per_subscriber_per_second"]
            slow_each = row["slow_per_subscriber_per_second"]
            conflated = "—" if row["server_conflated"] is None else f"{row['server_conflated']:,}"
            staleness = "—" if row["slow_subscribers"] == 0 else \
                f"{milliseconds(row['slow_staleness_p50_ms'])} / {milliseconds(row['slow_staleness_p99_ms'])}"
            passed = "yes" if row["passed"] else "no: " + "; ".join(row["failures"])
            out.append(f"| {row['run']} | {row['fast_deliveries_per_second'] / 1e6:.3f} M ({each:,.0f}) "
                       f"| {milliseconds(row['fast_p50_ms'])} / {milliseconds(row['fast_p99_ms'])} / {milliseconds(row['fast_max_ms'])} "
                       f"| {'—' if slow_each is None else f'{slow_each:,.0f}'} | {staleness} "
                       f"| {row['slow_skipped']:,} / {conflated} | {row['server_cpu_percent']:.0f}% | {row['server_us_per_delivery']:.3f} "
                       f"| {mebibytes(row['peak_rss_bytes'])} MiB | {mebibytes(row['send_buffer_bytes'])} MiB "
                       f"({mebibytes(row['largest_send_buffer_bytes'])} MiB) | {passed} |")
        out.append("")
        by_case = {row["case"]: row for row in rows}
        alone, with_slow = by_case.get("fast-alone"), by_case.get("with-slow")
        if alone and with_slow:
            comparison = {
                "fast_p99_with_slow_over_alone": with_slow["fast_p99_ms"] / alone["fast_p99_ms"] if alone["fast_p99_ms"] else None,
                "fast_per_subscriber_deliveries_with_slow_over_alone":
                    with_slow["fast_per_subscriber_per_second"] / alone["fast_per_subscriber_per_second"]
                    if alone["fast_per_subscriber_per_second"] else None,
                "server_us_per_delivery_with_slow_over_alone":
                    with_slow["server_us_per_delivery"] / alone["server_us_per_delivery"] if alone["server_us_per_delivery"] else None,
            }
            summary["comparison"] = comparison
            ratio = comparison["fast_p99_with_slow_over_alone"]
            each = comparison["fast_per_subscriber_deliveries_with_slow_over_alone"]
            out.append(f"The same 900 full-speed subscribers with 100 slow ones beside them, against alone: p99 × "
                       f"{'—' if ratio is None else f'{ratio:.2f}'}, deliveries per subscriber × {'—' if each is None else f'{each:.3f}'}. "
                       "Kernel send buffers: bytes queued in the server's sockets (skmem w, `ss -tm`) half-way through the "
                       "window; the slow subscribers' are most of it, and none of it is in the server's RSS.")
            out.append("")
    print("\n".join(out))
    if json_path:
        with open(json_path, "w") as file:
            json.dump(summary, file, indent=2)
            file.write("\n")


if __name__ == "__main__":
    main()
