#!/usr/bin/env python3
"""The tables of Benchmarks/events.sh: a raw room publish against an events
emit to the same room, run by run and rung by rung, from their wsbench JSON
files, with the events/raw ratio of server CPU per delivery. With --json,
the same rows as JSON.

    python3 Benchmarks/events_table.py RESULTS_DIR [--json events.json]

RESULTS_DIR holds events-{raw,emit}-{1000,ladder,10000}.json, and
events-rawsized-ladder.json: the raw ladder again with payloads as large as
the events frames, which tells what the events layer costs from what its
larger frames cost the kernel.
"""
import json
import os
import sys


# The payload of events.sh's sized raw run: about the size of an events frame.
SIZED_BYTES = int(os.environ.get("EVENTS_FRAME_BYTES", "150"))


def windows(run):
    """(rate, window, kept up or None) for each measured window of a run."""
    if "ladder" in run:
        return [(rung["window"]["rate"], rung["window"], rung["passed"]) for rung in run["ladder"]["rungs"]]
    window = run["measured"]
    return [(window["rate"], window, None)]


def fmt(us):
    return "—" if us is None else f"{us:.3f}"


def row(label, rate, window, kept):
    latency = window["latency_ns"]
    return {
        "layer": label,
        "rate": rate,
        "room_size": window["room_size"],
        "deliveries_per_second": window["received_per_second"],
        "p50_ms": latency["p50"] / 1e6,
        "p99_ms": latency["p99"] / 1e6,
        "server_cpu_percent": 100 * window["server_cpu_seconds"] * 1e9 / window["measured_ns"],
        "server_us_per_delivery": window["server_us_per_message"],
        "client_cpu_percent": window["client_cpu_percent"],
        "lost": window["lost"],
        "kept_up": kept,
    }


def main():
    directory = sys.argv[1]
    json_path = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    summary = {"comparisons": [], "highest_kept_up_rate": {}}
    out = []
    titles = {
        "1000": "1 → 1,000 at 1,000 msg/s",
        "ladder": "1 → 1,000, rate ladder (the e2e fan-out ladder)",
        "10000": "1 → 10,000 at 2 msg/s",
    }
    for case in ["1000", "ladder", "10000"]:
        runs = {}
        for layer in ["raw", "emit"]:
            path = os.path.join(directory, f"events-{layer}-{case}.json")
            if os.path.exists(path):
                runs[layer] = json.load(open(path))
        out.append(f"#### {titles[case]}")
        out.append("")
        if len(runs) < 2:
            out.append(f"(missing: {', '.join(sorted({'raw', 'emit'} - set(runs)))}; see the run output below)")
            out.append("")
            continue
        out.append("| msg/s | layer | deliveries/s | p50 | p99 | server CPU | server µs/delivery | events/raw | wsbench CPU | lost | kept up |")
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        raw_by_rate = {rate: (window, kept) for rate, window, kept in windows(runs["raw"])}
        sized_path = os.path.join(directory, f"events-rawsized-{case}.json")
        sized = json.load(open(sized_path)) if os.path.exists(sized_path) else None
        sized_by_rate = {rate: (window, kept) for rate, window, kept in windows(sized)} if sized else {}
        for rate, window, kept in windows(runs["emit"]):
            if rate not in raw_by_rate:
                continue
            raw = row("raw publish", rate, *raw_by_rate[rate])
            emit = row("events emit", rate, window, kept)
            # A rung where nothing was delivered has no CPU per delivery: no ratio.
            ratio = (emit["server_us_per_delivery"] / raw["server_us_per_delivery"]
                     if raw["server_us_per_delivery"] and emit["server_us_per_delivery"] else None)
            summary["comparisons"].append({"case": case, "rate": rate, "raw": raw, "events": emit, "events_over_raw_per_delivery": ratio})
            entries = [(raw, "")]
            if rate in sized_by_rate:
                entries.append((row(f"raw, {SIZED_BYTES}-byte payload", rate, *sized_by_rate[rate]), ""))
            entries.append((emit, f"{ratio:.2f}" if ratio else "—"))
            for entry, shown_ratio in entries:
                kept_text = "" if entry["kept_up"] is None else ("yes" if entry["kept_up"] else "no")
                out.append(f"| {rate:,} | {entry['layer']} | {entry['deliveries_per_second'] / 1e6:.3f} M | {entry['p50_ms']:.1f} ms "
                           f"| {entry['p99_ms']:.1f} ms | {entry['server_cpu_percent']:.0f}% | {fmt(entry['server_us_per_delivery'])} "
                           f"| {shown_ratio} | {entry['client_cpu_percent']:.0f}% | {entry['lost']:,} | {kept_text} |")
        if case == "ladder":
            raw_max = runs["raw"]["ladder"]["highest_kept_up_rate"]
            emit_max = runs["emit"]["ladder"]["highest_kept_up_rate"]
            summary["highest_kept_up_rate"] = {"raw": raw_max, "events": emit_max}
            out.append("")
            sized_text = ""
            if sized:
                sized_max = sized["ladder"]["highest_kept_up_rate"]
                summary["highest_kept_up_rate"]["raw_events_sized"] = sized_max
                sized_text = f", raw with {SIZED_BYTES}-byte payloads {sized_max or 'none'}/s"
            out.append(f"Highest rate kept up with: raw publish {raw_max or 'none'}/s, events emit {emit_max or 'none'}/s{sized_text}.")
        out.append("")
    print("\n".join(out).rstrip())
    if json_path:
        with open(json_path, "w") as file:
            json.dump(summary, file, indent=2)
            file.write("\n")


main()
