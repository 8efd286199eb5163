"""Headless Chromium with its DevTools endpoint, for the Python drivers of
browser tests (Tests/Demo, Tests/Events).

    with headless_chromium("clock-page", "--window-size=1400,430") as page_url:
        with websockets.sync.client.connect(page_url, max_size=None) as devtools: ...

Needs Debian's `chromium`; without it, exits with status 2 and says how to get it.
"""
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def headless_chromium(name, *flags):
    """Starts Chromium on about:blank and yields its page's DevTools WebSocket URL; kills it on exit."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print(f"{name}: Chromium is missing; install it with: apt-get install -y chromium", file=sys.stderr)
        sys.exit(2)
    debug_port = free_port()
    profile = tempfile.mkdtemp(prefix=f"{name}-")
    chrome = subprocess.Popen([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={profile}", f"--remote-debugging-port={debug_port}", *flags,
                               "about:blank"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/list", timeout=1))
                page = next(t for t in targets if t["type"] == "page")
                break
            except Exception:
                time.sleep(0.1)
        else:
            raise SystemExit(f"{name}: Chromium's DevTools endpoint did not come up")
        yield page["webSocketDebuggerUrl"]
    finally:
        chrome.kill()
        chrome.wait()
        shutil.rmtree(profile, ignore_errors=True)
