#!/usr/bin/env python3
"""The table of Benchmarks/uring-peers.sh: server CPU per echoed message (per
delivery for broadcast) for the minimal C servers and echo-server on each backend (medians of the
repetitions), and each pair's io_uring/epoll ratio (the median of the
per-repetition ratios: the runs of a repetition are back to back). With
--json, the same figures as JSON, the ratio of the medians as well.

    python3 Benchmarks/uring_peers_table.py RESULTS_DIR [--json uring-peers.json] [--syscall-ns BEFORE AFTER]

RESULTS_DIR holds uring-peers-SERVER-SCENARIO-REP.json.
"""
import glob
import json
import os
import re
import statistics
import sys

SERVERS = ["c-epoll", "c-uring", "server-epoll", "server-uring"]
SCENARIOS = ["echo-100", "echo-1000", "broadcast-10000"]
PAIRS = {"c": ("c-uring", "c-epoll"), "server": ("server-uring", "server-epoll")}


def server_us(directory, server, scenario):
    """Repetition number → server µs per echoed message."""
    figures = {}
    for path in glob.glob(os.path.join(directory, f"uring-peers-{server}-{scenario}-*.json")):
        repetition = int(re.search(r"-(\d+)\.json$", path).group(1))
        with open(path) as file:
            figures[repetition] = json.load(file)["measured"]["server_us_per_message"]
    return figures


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: uring_peers_table.py RESULTS_DIR [--json FILE] [--syscall-ns BEFORE AFTER]")
    directory = sys.argv[1]
    json_path = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    report = {}
    if "--syscall-ns" in sys.argv:
        at = sys.argv.index("--syscall-ns")
        report["syscall_ns"] = {"before": float(sys.argv[at + 1]), "after": float(sys.argv[at + 2])}
    lines = ["| scenario | c-epoll µs | c-uring µs | C io_uring/epoll | server-epoll µs | server-uring µs | server io_uring/epoll |",
             "|---|---|---|---|---|---|---|"]
    for scenario in SCENARIOS:
        runs = {server: server_us(directory, server, scenario) for server in SERVERS}
        medians = {server: statistics.median(figures.values()) if figures else None for server, figures in runs.items()}
        entry = {"server_us": medians}
        cells = [scenario]
        for pair, (uring, epoll) in PAIRS.items():
            repetitions = sorted(set(runs[uring]) & set(runs[epoll]))
            ratios = [runs[uring][r] / runs[epoll][r] for r in repetitions if runs[epoll][r]]
            entry[f"{pair}_ratios"] = ratios
            entry[f"{pair}_ratio"] = statistics.median(ratios) if ratios else None
            entry[f"{pair}_ratio_of_medians"] = medians[uring] / medians[epoll] if medians[uring] and medians[epoll] else None
            each = ", ".join(f"{r:.2f}" for r in ratios)
            cells += [f"{medians[epoll]:.2f}" if medians[epoll] else "-", f"{medians[uring]:.2f}" if medians[uring] else "-",
                      f"**{entry[f'{pair}_ratio']:.2f}** ({each})" if ratios else "-"]
        report[scenario] = entry
        lines.append("| " + " | ".join(cells) + " |")
    if json_path:
        with open(json_path, "w") as file:
            json.dump(report, file, indent=2)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
