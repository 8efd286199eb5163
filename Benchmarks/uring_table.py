#!/usr/bin/env python3
"""The table of Benchmarks/uring.sh: echo-server on epoll and on io_uring,
side by side, the median of the repetitions of each scenario, from their
wsbench JSON files, with the io_uring/epoll ratio. With --json, the same
figures as JSON.

    python3 Benchmarks/uring_table.py RESULTS_DIR [--json uring.json]

RESULTS_DIR holds uring-{epoll,uring}-SCENARIO-REP.json.

Server CPU ratios are paired: each repetition ran the two backends back to
back, so the table's ratio is the median of the per-repetition ratios (a
machine that drifts between repetitions moves both halves of a pair alike);
the ratio of the medians is in the JSON as well.
"""
import glob
import json
import os
import statistics
import sys

BACKENDS = ["epoll", "uring"]


def load(directory, io, scenario):
    runs = []
    for path in sorted(glob.glob(os.path.join(directory, f"uring-{io}-{scenario}-*.json"))):
        with open(path) as file:
            runs.append(json.load(file))
    return runs


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def window_figures(run):
    window = run["measured"] if "measured" in run else run["ladder"]["rungs"][0]["window"]
    return {
        "server_us": window["server_us_per_message"],
        "p99_ms": window["latency_ns"]["p99"] / 1e6,
        "per_second": window["received_per_second"],
        "client_cpu_percent": window["client_cpu_percent"],
        "lost": window["lost"],
    }


def connect_figures(run):
    handshakes = run["handshakes"]
    count = handshakes["count"] or 1
    return {
        "seconds": handshakes["seconds"],
        "handshake_p99_ms": run["handshake_time_ns"]["p99"] / 1e6,
        "server_us": handshakes["server_cpu_seconds"] * 1e6 / count,
        "established": run["connection_counts"]["established"],
    }


def ladder_figures(run):
    rungs = {r["window"]["rate"]: r for r in run["ladder"]["rungs"]}
    return {
        "highest_kept_up_rate": run["ladder"]["highest_kept_up_rate"] or 0,
        "rungs": {rate: {"kept_up": r["passed"], "p99_ms": r["window"]["latency_ns"]["p99"] / 1e6,
                         "per_second": r["window"]["received_per_second"], "server_us": r["window"]["server_us_per_message"]}
                  for rate, r in rungs.items()},
    }


def medians(figures):
    keys = figures[0].keys() if figures else []
    return {k: median([f[k] for f in figures]) for k in keys if not isinstance(figures[0][k], dict)}


def ratio(a, b):
    return a / b if a is not None and b else None


def paired_ratios(directory, scenario):
    """io_uring/epoll server CPU of each repetition, in order (runs of one repetition ran back to back)."""
    pairs = zip(load(directory, "epoll", scenario), load(directory, "uring", scenario))
    return [ratio(window_figures(u)["server_us"], window_figures(e)["server_us"]) for e, u in pairs]


def main():
    directory = sys.argv[1]
    json_path = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    summary = {}
    if "--syscall-ns" in sys.argv:  # what a system call cost before and after the runs
        at = sys.argv.index("--syscall-ns")
        summary["syscall_ns"] = {"before": float(sys.argv[at + 1]), "after": float(sys.argv[at + 2])}
    out = ["| measure | epoll | io_uring | io_uring/epoll (each repetition) | target | holds |", "|---|---:|---:|---:|---|---|"]

    def line(label, key, unit, figures, target, holds, paired=None):
        e, u = figures["epoll"].get(key), figures["uring"].get(key)
        r = median(paired) if paired else ratio(u, e)
        fmt = (lambda v: "—" if v is None else f"{v:,.2f}{unit}")
        shown = "—" if r is None else f"{r:.2f}"
        if paired:
            shown += " (" + ", ".join(f"{p:.2f}" for p in paired) + ")"
        out.append(f"| {label} | {fmt(e)} | {fmt(u)} | {shown} | {target} | {holds(e, u, r)} |")

    def cpu_line(label, scenario, figures):
        paired = [p for p in paired_ratios(directory, scenario) if p is not None]
        figures["paired_ratios"] = paired
        figures["paired_ratio_median"] = median(paired)
        figures["ratio_of_medians"] = ratio(figures["uring"].get("server_us"), figures["epoll"].get("server_us"))
        line(label, "server_us", "", figures, "≥ 10% lower", lambda e, u, r: yes(None if r is None else r <= 0.90), paired)

    def yes(condition):
        return "—" if condition is None else ("yes" if condition else "**no**")

    for scenario, label in [("echo-100", "echo, 100 connections"), ("echo-1000", "echo, 1,000 connections")]:
        figures = {io: medians([window_figures(r) for r in load(directory, io, scenario)]) for io in BACKENDS}
        summary[scenario] = figures
        if not all(figures.values()):
            out.append(f"| {label} | (missing runs) | | | | |")
            continue
        cpu_line(f"{label}: server µs per echoed message", scenario, figures)
        line(f"{label}: echoes per second", "per_second", "", figures, "", lambda e, u, r: "")
        line(f"{label}: p99", "p99_ms", " ms", figures, "", lambda e, u, r: "")

    figures = {io: medians([window_figures(r) for r in load(directory, io, "broadcast-10000")]) for io in BACKENDS}
    summary["broadcast-10000"] = figures
    if all(figures.values()):
        cpu_line("1 → 10,000 at 2 msg/s: server µs per delivery", "broadcast-10000", figures)
        line("1 → 10,000 at 2 msg/s: p99", "p99_ms", " ms", figures, "", lambda e, u, r: "")

    figures = {io: medians([connect_figures(r) for r in load(directory, io, "connect-10000")]) for io in BACKENDS}
    summary["connect-10000"] = figures
    if all(figures.values()):
        line("10,000 opened, ≤ 128 in flight: seconds", "seconds", " s", figures, "", lambda e, u, r: "")
        line("10,000 opened, ≤ 128 in flight: handshake p99", "handshake_p99_ms", " ms", figures, "≤ 10 ms on each",
             lambda e, u, r: yes(None if e is None or u is None else (e <= 10 and u <= 10)))
        line("10,000 opened, ≤ 128 in flight: server µs per handshake", "server_us", "", figures, "", lambda e, u, r: "")

    ladders = {io: [ladder_figures(r) for r in load(directory, io, "fanout-ladder")] for io in BACKENDS}
    if all(ladders.values()):
        best = {io: {"highest_kept_up_rate": median([l["highest_kept_up_rate"] for l in ladders[io]])} for io in BACKENDS}
        summary["fanout-ladder"] = {io: {"highest_kept_up_rate": best[io]["highest_kept_up_rate"],
                                         "runs": [l["highest_kept_up_rate"] for l in ladders[io]]} for io in BACKENDS}
        line("1 → 1,000 ladder: highest rate kept up (msg/s)", "highest_kept_up_rate", "", best, "no lower",
             lambda e, u, r: yes(None if e is None or u is None else u >= e))
    print("\n".join(out))

    if all(ladders.values()):
        print()
        print("The fan-out ladder rung by rung (first run of each backend):")
        print()
        print("| msg/s | epoll deliveries/s | epoll p99 | epoll kept up | io_uring deliveries/s | io_uring p99 | io_uring kept up |")
        print("|---:|---:|---:|---|---:|---:|---|")
        e, u = ladders["epoll"][0]["rungs"], ladders["uring"][0]["rungs"]
        for rate in sorted(set(e) | set(u)):
            cells = []
            for rungs in (e, u):
                r = rungs.get(rate)
                cells += ["—"] * 3 if r is None else [f"{r['per_second']:,.0f}", f"{r['p99_ms']:.1f} ms", "yes" if r["kept_up"] else "no"]
            print(f"| {rate:,} | " + " | ".join(cells) + " |")

    if json_path:
        with open(json_path, "w") as file:
            json.dump(summary, file, indent=2)
            file.write("\n")


main()
