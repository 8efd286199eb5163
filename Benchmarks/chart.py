#!/usr/bin/env python3
"""Broadcast latency percentiles against room size, as an SVG a person can open.

    python3 Benchmarks/chart.py RESULT.json [RESULT.json ...] -o Benchmarks/results/broadcast-latency.svg

Each RESULT.json is a `wsbench --scenario broadcast --json` file: a step-mode
run (one point per step) or a single run (one point). Plain SVG, no libraries.
"""
import json
import math
import sys


def points(paths):
    found = []
    for path in paths:
        with open(path) as file:
            result = json.load(file)
        windows = []
        if "step" in result:
            windows = [step["window"] for step in result["step"]["steps"]]
        elif "ladder" in result:
            windows = [rung["window"] for rung in result["ladder"]["rungs"]]
        elif "measured" in result:
            windows = [result["measured"]]
        for window in windows:
            latency = window["latency_ns"]
            if latency["count"] == 0:
                continue
            found.append((window["room_size"], window["rate"], latency["p50"] / 1e6, latency["p90"] / 1e6, latency["p99"] / 1e6))
    return sorted(found)


def svg(data, title):
    width, height, left, right, top, bottom = 760, 420, 70, 150, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    sizes = [d[0] for d in data]
    low, high = min(sizes), max(sizes)
    log_x = high / max(low, 1) >= 20
    def x(size):
        if high == low:
            return left + plot_w / 2
        if log_x:
            return left + plot_w * (math.log10(size) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return left + plot_w * (size - low) / (high - low)
    peak = max(d[4] for d in data) * 1.05 or 1
    step = 10 ** math.floor(math.log10(peak / 5))  # a round grid: 1, 2 or 5 times a power of ten per line
    step = next(s * step for s in (1, 2, 5, 10) if s * step * 5 >= peak)
    top_ms = step * 5
    def y(ms):
        return top + plot_h * (1 - ms / top_ms)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="15">{title}</text>']
    for i in range(6):  # horizontal grid and y labels
        ms = top_ms * i / 5
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(ms):.1f}" y2="{y(ms):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 8}" y="{y(ms) + 4:.1f}" text-anchor="end">{ms:.0f}</text>')
    for size in sorted(set(sizes)):
        out.append(f'<line x1="{x(size):.1f}" x2="{x(size):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 5}" stroke="#333"/>')
        out.append(f'<text x="{x(size):.1f}" y="{top + plot_h + 20}" text-anchor="middle">{size:,}</text>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#333"/>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#333"/>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 15}" text-anchor="middle">subscribers in the room{" (log scale)" if log_x else ""}</text>')
    out.append(f'<text x="18" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 18 {top + plot_h / 2})">publish-to-receive latency (ms)</text>')
    for index, (name, color) in enumerate([("p50", "#2b7bb9"), ("p90", "#e08a1e"), ("p99", "#c0392b")]):
        series = [(x(d[0]), y(d[2 + index])) for d in data]
        path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(series))
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for px, py in series:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"/>')
        ly = top + 20 + index * 20
        out.append(f'<line x1="{left + plot_w + 20}" x2="{left + plot_w + 45}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{left + plot_w + 52}" y="{ly + 4}">{name}</text>')
    rates = sorted(set(d[1] for d in data))
    out.append(f'<text x="{left + plot_w + 20}" y="{top + 90}">rate: {", ".join(str(r) for r in rates)} msg/s</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    if "-o" not in args or args.index("-o") + 1 >= len(args):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    output = args[args.index("-o") + 1]
    inputs = [a for i, a in enumerate(args) if a != "-o" and (i == 0 or args[i - 1] != "-o")]
    data = points(inputs)
    if not data:
        print("chart.py: no broadcast measurements in the inputs", file=sys.stderr)
        sys.exit(1)
    with open(output, "w") as file:
        file.write(svg(data, "Broadcast latency against room size (1 publisher, echo-server --threads 1)"))
    print(f"wrote {output} ({len(data)} points)")


if __name__ == "__main__":
    main()
