#!/usr/bin/env python3
"""A soak's samples as an SVG a person can open: three panels over time,
resident memory (server and wsbench), open descriptors, and p50/p99 latency.

    python3 Benchmarks/soak_chart.py SOAK.csv -o soak.svg [--warmup DURATION] [--title TEXT]

SOAK.csv is `wsbench --soak D --soak-csv FILE`. The shaded band is the warm-up
the drift verdict leaves out: --warmup (20m, 90s, 30) as given to
`wsbench --soak-warmup`, or wsbench's default, max(one interval, 10% of the
soak). Plain SVG, no libraries.
"""
import csv
import math
import sys

WIDTH, LEFT, RIGHT, TOP, PANEL_H, GAP, BOTTOM = 820, 80, 170, 50, 150, 45, 50
COLORS = ["#2b7bb9", "#e08a1e", "#c0392b", "#27ae60"]


def read(path):
    with open(path) as file:
        rows = list(csv.DictReader(file))
    def column(name, scale=1.0):
        return [float(r[name]) * scale if r[name] not in ("", None) else None for r in rows]
    return {
        "t": column("elapsed_s"),
        "server_rss": column("server_rss_bytes", 1 / 1048576), "client_rss": column("client_rss_bytes", 1 / 1048576),
        "server_fds": column("server_fds"), "client_fds": column("client_fds"),
        "p50": column("p50_ms"), "p99": column("p99_ms"),
    }


def nice_top(peak):
    peak = peak * 1.05 or 1
    step = 10 ** math.floor(math.log10(peak / 5))
    step = next(s * step for s in (1, 2, 5, 10) if s * step * 5 >= peak)
    return step * 5


def panel(out, index, times, series, label, warm_up):
    top = TOP + index * (PANEL_H + GAP)
    plot_w = WIDTH - LEFT - RIGHT
    t_max = max(times) or 1
    values = [v for _, data, _ in series for v in data if v is not None]
    y_top = nice_top(max(values) if values else 1)
    x = lambda t: LEFT + plot_w * t / t_max
    y = lambda v: top + PANEL_H * (1 - v / y_top)
    if warm_up > 0:
        out.append(f'<rect x="{LEFT}" y="{top}" width="{x(min(warm_up, t_max)) - LEFT:.1f}" height="{PANEL_H}" fill="#f3f3f3"/>')
    for i in range(6):
        v = y_top * i / 5
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{top + PANEL_H}" y2="{top + PANEL_H}" stroke="#333"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{top}" y2="{top + PANEL_H}" stroke="#333"/>')
    for i in range(6):
        t = t_max * i / 5
        out.append(f'<text x="{x(t):.1f}" y="{top + PANEL_H + 16}" text-anchor="middle">{t / 60:.1f}</text>')
    out.append(f'<text x="18" y="{top + PANEL_H / 2}" text-anchor="middle" transform="rotate(-90 18 {top + PANEL_H / 2})">{label}</text>')
    for n, (name, data, color) in enumerate(series):
        dash = ' stroke-dasharray="7 5"' if n == 1 else ""  # equal series (descriptors) stay visible
        points = [(x(t), y(v)) for t, v in zip(times, data) if v is not None]
        if points:
            path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(points))
            out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        ly = top + 15 + n * 20
        out.append(f'<line x1="{LEFT + plot_w + 20}" x2="{LEFT + plot_w + 45}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{LEFT + plot_w + 52}" y="{ly + 4}">{name}</text>')


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * units[unit]
    return float(text)


def svg(data, title, warm_up=None):
    times = data["t"]
    interval = times[1] - times[0] if len(times) > 1 else times[0]
    if warm_up is None:
        warm_up = max(interval, (max(times) + interval / 2) / 10)  # the soak is about the last sample plus part of an interval
    height = TOP + 3 * PANEL_H + 2 * GAP + BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">{title}</text>']
    panel(out, 0, times, [("server", data["server_rss"], COLORS[0]), ("wsbench", data["client_rss"], COLORS[1])], "RSS (MiB)", warm_up)
    panel(out, 1, times, [("server", data["server_fds"], COLORS[0]), ("wsbench", data["client_fds"], COLORS[1])], "open descriptors", warm_up)
    panel(out, 2, times, [("p50", data["p50"], COLORS[0]), ("p99", data["p99"], COLORS[2])], "latency (ms)", warm_up)
    out.append(f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{height - 12}" text-anchor="middle">'
               f'minutes since measuring began (grey: warm-up, not judged)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    if len(args) < 3 or "-o" not in args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    output = args[args.index("-o") + 1]
    title = args[args.index("--title") + 1] if "--title" in args else "wsbench soak"
    warm_up = seconds(args[args.index("--warmup") + 1]) if "--warmup" in args else None
    data = read(args[0])
    if not data["t"]:
        print("soak_chart.py: no samples in " + args[0], file=sys.stderr)
        sys.exit(1)
    with open(output, "w") as file:
        file.write(svg(data, title, warm_up))
    print(f"wrote {output} ({len(data['t'])} samples)")


if __name__ == "__main__":
    main()
