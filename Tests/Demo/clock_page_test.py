#!/usr/bin/env python3
"""Opens push-demo's page in headless Chromium (over the DevTools protocol)
and checks that all five clocks advance for 5 seconds; saves a screenshot.

    python3 clock_page_test.py http://127.0.0.1:PORT/ [SCREENSHOT.png]
    python3 clock_page_test.py https://127.0.0.1:PORT/   (a self-signed certificate is accepted)

Needs Debian's `chromium` and the `websockets` package. Prints one line per
clock and `N passed, M failed`; exits 1 on any failure.
"""
import base64
import json
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from headless_chromium import headless_chromium  # noqa: E402

URL = sys.argv[1]
SCREENSHOT = sys.argv[2] if len(sys.argv) > 2 else None
# Over https:// the test certificate is self-signed: Chromium is told to accept it.
trust = ["--ignore-certificate-errors"] if URL.startswith("https:") else []
with headless_chromium("clock-page", "--window-size=1400,430", *trust) as page_url:
    with connect(page_url, max_size=None) as devtools:
        counter = 0

        def call(method, **params):
            global counter
            counter += 1
            devtools.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                reply = json.loads(devtools.recv())
                if reply.get("id") == counter:
                    return reply.get("result", {})

        def clocks():
            result = call("Runtime.evaluate", expression="JSON.stringify({state, times: Object.fromEntries("
                          "[...document.querySelectorAll('.clock')].map(c => [c.id, c.querySelector('.time').textContent]))})",
                          returnByValue=True)
            return json.loads(result["result"]["value"])

        call("Page.enable")
        call("Page.navigate", url=URL)
        time.sleep(2)  # connections open and the first ticks arrive
        scheme = call("Runtime.evaluate", expression="location.protocol", returnByValue=True)["result"]["value"]
        if scheme != URL.split("//")[0]:
            print(f"FAIL the page was loaded over {scheme}, not {URL.split('//')[0]}")
            sys.exit(1)
        first = clocks()
        time.sleep(5)
        last = clocks()
        passed = failed = 0
        for name in ["polling", "longpoll", "iframe", "sse", "websocket"]:
            before = first["state"].get(name, {}).get("messages", 0)
            after = last["state"].get(name, {}).get("messages", 0)
            advanced = after - before >= 4 and last["times"][name] != first["times"][name]
            print(f"{'PASS' if advanced else 'FAIL'} {name}: {before} -> {after} messages in 5 s, "
                  f"{first['times'][name]} -> {last['times'][name]}, {last['state'].get(name, {}).get('reconnects', 0)} reconnects")
            passed, failed = (passed + 1, failed) if advanced else (passed, failed + 1)
        if SCREENSHOT:
            shot = call("Page.captureScreenshot", format="png")
            with open(SCREENSHOT, "wb") as file:
                file.write(base64.b64decode(shot["data"]))
            print(f"screenshot: {SCREENSHOT}")
        print(f"{passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)
