"""Headless Chromium with its DevTools endpoint, for the Python drivers of
browser tests (Tests/Demo, Tests/Events, Tests/Chat).

    with headless_chromium("clock-page", "--window-size=1400,430") as page_url:
        with websockets.sync.client.connect(page_url, max_size=None) as socket:
            page = DevTools(socket)
            page.call("Page.navigate", url=...)
            page.evaluate("document.title")
        second_tab_url = open_tab(page_url)  # another page of the same browser (same profile)

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
import urllib.parse
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


def open_tab(page_url, url="about:blank"):
    """Opens another page in the browser `page_url` belongs to; returns its DevTools WebSocket URL."""
    port = urllib.parse.urlsplit(page_url).port
    request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?{urllib.parse.quote(url, safe='')}", method="PUT")
    return json.load(urllib.request.urlopen(request, timeout=5))["webSocketDebuggerUrl"]


class DevTools:
    """One page over the DevTools protocol: calls, evaluation, and the page's
    console errors and exceptions (for failure reports)."""

    def __init__(self, websocket):
        self.socket = websocket
        self.counter = 0
        self.messages = []  # console errors and exceptions of the page, for failure reports

    def call(self, method, **params):
        self.counter += 1
        self.socket.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.counter:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.note(reply)

    def note(self, event):
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            self.messages.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.messages.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.messages.append(f"log: {entry.get('text')} {entry.get('url', '')}")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")
