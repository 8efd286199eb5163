#!/usr/bin/env python3
"""client.js in headless Chromium (driven over the DevTools protocol) against
running events testbeds: page.html runs the scenarios of scenarios.js, this
driver compares every check.

    python3 chromium_client_test.py --run base=http://127.0.0.1:PORT,transports=websocket,expect=websocket[,suite=full] ...
        (suite: full | refused | heartbeat; heartbeat also takes pingInterval=MS,pingTimeout=MS)

The page comes from a server of this script's own (another origin, as a page of
another site would), so the testbed must allow it with CORS
(Access-Control-Allow-Origin on /events/client.mjs, /events/sse, /events/poll,
/events/send). Needs Debian's `chromium` and the `websockets` package. Prints
PASS/FAIL per check and `N passed, M failed`; exits 1 on any failure, 2 on a
setup error.
"""
import argparse
import json
import sys
import threading
import time
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from headless_chromium import DevTools, free_port, headless_chromium  # noqa: E402

HERE = Path(__file__).resolve().parent
SOURCES = HERE.parent.parent / "Sources" / "Events"
RUN_KEYS = {"base", "transports", "expect", "suite", "pingInterval", "pingTimeout"}


def parse_run(text):
    run = dict(item.split("=", 1) for item in text.split(",") if "=" in item)
    unknown = set(run) - RUN_KEYS
    if unknown or not {"base", "transports"} <= set(run):
        raise argparse.ArgumentTypeError(f"--run needs base= and transports= (and knows {sorted(RUN_KEYS)}): {text}")
    run.setdefault("suite", "full")
    run.setdefault("expect", run["transports"])
    return run


class PageFiles(SimpleHTTPRequestHandler):
    """/tests/ → Tests/Events, /src/ → Sources/Events; nothing else."""

    def translate_path(self, path):
        path = urllib.parse.urlsplit(path).path
        for prefix, root in (("/tests/", HERE), ("/src/", SOURCES)):
            if path.startswith(prefix):
                name = path[len(prefix):]
                if "/" not in name and name not in ("", ".", ".."):
                    return str(root / name)
        return str(HERE / "no-such-file")

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


PageFiles.extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}


def canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def run_pages(devtools, args, page_origin):
    """Loads the page once per run, waits for its results and compares every check."""
    passed = failed = 0
    devtools.call("Page.enable")
    devtools.call("Runtime.enable")
    devtools.call("Log.enable")
    for run in args.run:
        label = f"chromium {run['transports']}" + (f" → {run['expect']}" if run["transports"] == "auto" else "") + \
                (f" ({run['suite']})" if run["suite"] != "full" else "")
        devtools.messages.clear()
        devtools.call("Page.navigate", url=f"{page_origin}/tests/page.html?{urllib.parse.urlencode(run)}")
        time.sleep(0.5)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and not devtools.evaluate("window.__done === true"):
            time.sleep(0.5)
        raw = devtools.evaluate("JSON.stringify(window.__results || null)")
        results = json.loads(raw) if raw else None
        if not results:
            results = [{"scenario": "page", "label": f"finished within {args.timeout:.0f} s", "actual": False, "expected": True}]
        run_failed = 0
        for result in results:
            ok = canonical(result["actual"]) == canonical(result["expected"])
            run_failed += not ok
            line = f"{'PASS' if ok else 'FAIL'} [{label}] {result['scenario']}: {result['label']}"
            if not ok:
                line += f"\n      expected {canonical(result['expected'])}\n      got      {canonical(result['actual'])}"
            print(line, flush=True)
        if run_failed:
            for message in devtools.messages[-20:]:
                print(f"      page {message}")
        print(f"[{label}] {len(results) - run_failed} passed, {run_failed} failed", flush=True)
        passed += len(results) - run_failed
        failed += run_failed
    return passed, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=parse_run, action="append", required=True, help="one page run (repeatable)")
    parser.add_argument("--timeout", type=float, default=240, help="seconds a page run may take (default 240)")
    args = parser.parse_args()

    pages = ThreadingHTTPServer(("127.0.0.1", free_port()), PageFiles)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    page_origin = f"http://127.0.0.1:{pages.server_address[1]}"
    try:
        with headless_chromium("events-client") as page_url, connect(page_url, max_size=None) as websocket:
            passed, failed = run_pages(DevTools(websocket), args, page_origin)
        print(f"chromium: {passed} passed, {failed} failed")
        return 1 if failed else 0
    finally:
        pages.shutdown()


if __name__ == "__main__":
    sys.exit(main())
