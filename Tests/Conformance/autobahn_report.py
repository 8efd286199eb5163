#!/usr/bin/env python3
"""Merge the index.json files of concurrent wstest fuzzing clients and judge the run.

Called by autobahn.sh:

    autobahn_report.py --reports DIR --agent NAME --cases DIR/cases.txt \
        --client DIR/client-1:STATUS --client DIR/client-2:STATUS [--server-died STATUS]

Each client directory holds one wstest run (its spec's outdir: index.json plus one .json/.html
report per case). The merged index is written to DIR/index.json, in wstest's format
(agent -> case id -> result), with each "reportfile" made relative to DIR.

Prints the count of cases per behavior and one line for every case that is not OK. Exits 1 if a
case FAILED, a case of the run has no result, a wstest client crashed (non-zero status or no
index.json), or the server died during the run; 0 otherwise. The last line reads
"autobahn: N passed, M failed".
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def case_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in case_id.split("."))


def one_line(text: str) -> str:
    """Case descriptions are HTML fragments: drop tags, collapse whitespace."""
    text = re.sub(r"<br\s*/?>|</?p>", " ", text or "", flags=re.I)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def load_case_report(reports: Path, entry: dict) -> dict:
    try:
        with open(reports / entry["reportfile"], encoding="utf-8") as f:
            return json.load(f)
    except (OSError, KeyError, ValueError):
        return {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", required=True, type=Path)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--cases", required=True, type=Path, help="file: one case id a line")
    ap.add_argument("--client", action="append", default=[], metavar="DIR:STATUS")
    ap.add_argument("--server-died", metavar="STATUS",
                    help="the server under test exited during the run with this status")
    args = ap.parse_args()

    reports: Path = args.reports.resolve()
    expected = args.cases.read_text().split()
    problems: list[str] = []
    warnings: list[str] = []

    merged: dict[str, dict] = {}
    for spec in args.client:
        cdir_s, _, status_s = spec.rpartition(":")
        cdir, status = Path(cdir_s).resolve(), int(status_s)
        name = cdir.name
        log = cdir / "wstest.log"
        crash = []
        if status != 0:
            crash.append("timed out" if status == 124 else f"exited with status {status}")
        index_path = cdir / "index.json"
        index = None
        try:
            with open(index_path, encoding="utf-8") as f:
                index = json.load(f)
        except (OSError, ValueError) as e:
            crash.append(f"left no readable index.json ({e.__class__.__name__})")
        if crash:
            problems.append(f"wstest {name} {' and '.join(crash)}; see {log}")
        if index is None:
            continue
        try:
            log_text = log.read_text(errors="replace")
        except OSError:
            log_text = ""
        tracebacks = log_text.count("Traceback (most recent call last)")
        if tracebacks:
            warnings.append(f"wstest {name} logged {tracebacks} traceback(s); see {log}")
        if "UTF8 Validator class" in log_text and "wsaccel" not in log_text.split("UTF8 Validator class", 1)[-1][:200]:
            warnings.append(f"wstest {name} ran without wsaccel: 9.* cases are much slower")
        for agent, cases in index.items():
            if agent != args.agent:
                warnings.append(f"unexpected agent {agent!r} in {index_path}")
            for case_id, entry in cases.items():
                entry = dict(entry)
                if "reportfile" in entry:
                    entry["reportfile"] = f"{name}/{entry['reportfile']}"
                if case_id in merged.get(agent, {}):
                    warnings.append(f"case {case_id} reported twice (again by {name})")
                merged.setdefault(agent, {})[case_id] = entry

    results = {k: merged.get(args.agent, {})[k]
               for k in sorted(merged.get(args.agent, {}), key=case_key)}
    out = {agent: ({k: cases[k] for k in sorted(cases, key=case_key)})
           for agent, cases in merged.items()}
    with open(reports / "index.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, sort_keys=False)
        f.write("\n")

    missing = [c for c in expected if c not in results]
    extra = [c for c in results if c not in set(expected)]
    if missing:
        shown = " ".join(missing[:40]) + (f" ... ({len(missing) - 40} more)" if len(missing) > 40 else "")
        problems.append(f"{len(missing)} case(s) have no result: {shown}")
    if extra:
        warnings.append(f"results for cases not in the run: {' '.join(extra)}")
    if args.server_died is not None:
        problems.append(f"the server exited during the run (status {args.server_died}); "
                        f"see {reports / 'server.log'}")

    counts: dict[str, int] = {}
    for entry in results.values():
        counts[entry.get("behavior", "?")] = counts.get(entry.get("behavior", "?"), 0) + 1
    order = BEHAVIORS + sorted(set(counts) - set(BEHAVIORS))
    total_ms = sum(e.get("duration", 0) or 0 for e in results.values())

    print(f"Autobahn results for agent {args.agent!r}: {len(results)} of {len(expected)} cases, "
          f"sum of case durations {total_ms / 1000:.1f}s")
    print("  " + ", ".join(f"{b} {counts.get(b, 0)}" for b in order))

    not_ok = [(c, e) for c, e in results.items() if e.get("behavior") != "OK"]
    if not_ok:
        print("Cases not OK:")
    for case_id, entry in not_ok:
        behavior = entry.get("behavior", "?")
        report = load_case_report(reports, entry)
        desc = one_line(report.get("description", ""))
        line = f"  {case_id:<8} {behavior:<13} {desc}"
        if behavior == "FAILED":
            result = one_line(report.get("result", ""))
            line += (f" -- {result + '; ' if result else ''}closing: {entry.get('behaviorClose')}, "
                     f"remote close code {entry.get('remoteCloseCode')}")
        print(line.rstrip())

    for w in warnings:
        print(f"warning: {w}")
    failed = [c for c, e in results.items() if e.get("behavior") == "FAILED"]
    other_problems = len(problems) - (1 if missing else 0)
    if failed:
        problems.insert(0, f"{len(failed)} case(s) FAILED: {' '.join(failed)}")
    for p in problems:
        print(f"FAIL: {p}")
    # Closing line: cases that ran and did not fail vs. FAILED + missing cases (+ 1 for each
    # other problem: crashed client, dead server), so "0 failed" means the run passed.
    n_failed = len(failed) + len(missing) + other_problems
    print(f"autobahn: {len(results) - len(failed)} passed, {n_failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
