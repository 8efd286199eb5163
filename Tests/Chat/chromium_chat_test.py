#!/usr/bin/env python3
"""chat-server's page in headless Chromium, as its users use it: two browsers
(two users, each its own profile), driven over the DevTools protocol.

    python3 chromium_chat_test.py http://127.0.0.1:PORT [--screenshots DIR]

The server must run with its default flood limit (5 a second, bursts of 10)
and history (20) on a fresh database. Checked, in the page as a user sees it:
names (one taken), joined and left notices, public messages, the room Red
(buttons showing the state), @name private messages and "not online", the
newest 20 messages after a reload, friend chat with a second tab of one user
receiving too, a flood refused with its reason, and an XSS attempt in a name
and in a message shown as text with no script run. With --screenshots, both
users' pages are saved there (chat-alice.png, chat-bob.png) once they have
talked. Needs Debian's `chromium` and the `websockets` package. Prints
PASS/FAIL per check and `N passed, M failed`; exits 1 on any failure.
"""
import argparse
import base64
import contextlib
import json
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from headless_chromium import DevTools, headless_chromium, open_tab  # noqa: E402

SMALL_TALK = [
    "Morning! Anyone around?", "Hi alice, just got in.", "Did you see the build went green last night?",
    "I did. The chat tests passed on the first try.", "Nice. The fan-out numbers look good too.",
    "How many users did the benchmark run?", "A thousand in one room.", "And every message is stored first?",
    "Yes, acknowledged only after the commit.", "What does the fsync cost?", "One per batch, shared by everyone waiting.",
    "Group commit, then.", "Exactly. I'll post the figures later.", "Great, thanks.",
    "Are you joining the Red room for the review?", "Sure, in a minute.", "Green is for the release notes.", "Got it.",
    "Lunch at noon?", "Sounds good.", "I'll book a table.", "See you there.",
]

# What the page would set if any of these ran as markup.
XSS_NAME = "<img/src=x/onerror=__xss=1>"
XSS_TEXT = '<img src=x onerror="__xss=2"><script>__xss=3</script>'


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def record(self, ok, label, detail=""):
        print(f"{'PASS' if ok else 'FAIL'} {label}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


class ChatPage:
    """One tab with the chat page, and what its user does and sees."""

    def __init__(self, name, websocket, results):
        self.name = name
        self.devtools = DevTools(websocket)
        self.results = results
        for domain in ("Page", "Runtime", "Log"):
            self.devtools.call(f"{domain}.enable")

    def open(self, url):
        self.devtools.call("Page.navigate", url=url)
        return self.wait("connected", "document.getElementById('status').textContent.startsWith('connected')")

    def reload(self):
        self.devtools.call("Page.reload", ignoreCache=True)
        time.sleep(0.3)
        return self.wait("reconnected after a reload", "document.getElementById('status').textContent.startsWith('connected')")

    def js(self, expression):
        return self.devtools.evaluate(expression)

    def wait(self, label, expression, timeout=10):
        """Checks that `expression` becomes true within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.js(expression) is True:
                return self.results.record(True, f"[{self.name}] {label}")
            time.sleep(0.1)
        detail = f"page log: {self.log()[-6:]}" + "".join(f"\n      page {m}" for m in self.devtools.messages[-5:])
        return self.results.record(False, f"[{self.name}] {label}", detail)

    def check(self, label, ok, detail=""):
        return self.results.record(ok, f"[{self.name}] {label}", detail)

    def submit(self, form, values):
        assignments = "".join(f"document.getElementById({json.dumps(k)}).value = {json.dumps(v)};" for k, v in values.items())
        self.js(f"{assignments} document.getElementById({json.dumps(form)}).requestSubmit(); true")

    def say(self, text):
        self.submit("say", {"text": text})

    def log(self):
        return self.js("[...document.querySelectorAll('#log > div')].map(d => d.textContent)") or []

    def has_line(self, text):
        return f"[...document.querySelectorAll('#log > div')].some(d => d.textContent === {json.dumps(text)})"

    def has_message(self, sender, text, tag=None):
        """A message line from `sender` with exactly this text (and this tag, or none)."""
        tag_test = f"(l.querySelector('.tag') || {{}}).textContent === {json.dumps(tag)}" if tag else "!l.querySelector('.tag')"
        return (f"[...document.querySelectorAll('#log > div.message')].some(l => "
                f"l.querySelector('.from').textContent === {json.dumps(sender + ':')} && "
                f"l.querySelector('.text').textContent === {json.dumps(text)} && {tag_test})")

    def message_texts(self):
        return self.js("[...document.querySelectorAll('#log > div.message .text')].map(t => t.textContent)") or []

    def room_state(self, room):
        return self.js(f"(() => {{ const li = document.querySelector('#rooms li[data-room={json.dumps(room)}]');"
                       f" return li && [li.classList.contains('in'), li.querySelector('button').textContent]; }})()")

    def click_room(self, room):
        self.js(f"document.querySelector('#rooms li[data-room={json.dumps(room)}] button').click(); true")

    def friend_item(self, name):
        return (f"[...document.querySelectorAll('#friends li')].find(li => li.querySelector('.name').textContent === {json.dumps(name)})")

    def open_friend(self, name):
        self.js(f"{self.friend_item(name)}.click(); true")

    def conversation(self):
        return self.js("[...document.querySelectorAll('#conversation-log > div')].map(d => d.querySelector('.from').textContent + ' ' + d.querySelector('.text').textContent)") or []

    def screenshot(self, path):
        shot = self.devtools.call("Page.captureScreenshot", format="png")
        Path(path).write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot: {path}")


def run(url, screenshots, results):
    with contextlib.ExitStack() as stack:
        alice_browser = stack.enter_context(headless_chromium("chat-alice", "--window-size=1400,820"))
        bob_browser = stack.enter_context(headless_chromium("chat-bob", "--window-size=1400,820"))
        alice = ChatPage("alice", stack.enter_context(connect(alice_browser, max_size=None)), results)
        bob = ChatPage("bob", stack.enter_context(connect(bob_browser, max_size=None)), results)
        alice.open(url)
        bob.open(url)

        # Names: the first message; one taken.
        alice.say("alice")
        alice.wait("takes the name alice", "document.getElementById('me').textContent === 'alice'")
        bob.say("alice")
        bob.wait("is told alice is taken", bob.has_line("The name alice is taken. Please pick another."))
        bob.say("bob")
        bob.wait("takes the name bob", "document.getElementById('me').textContent === 'bob'")
        alice.wait("sees bob joined", alice.has_line("bob joined"))
        alice.wait("lists both online", "[...document.querySelectorAll('#online li')].map(l => l.textContent).join() === 'alice,bob'")

        # In public: small talk, paced under the flood limit (5 a second, bursts of 10).
        for index, text in enumerate(SMALL_TALK):
            (alice if index % 2 == 0 else bob).say(text)
            time.sleep(0.25)
        bob.wait("gets alice's public messages", bob.has_message("alice", SMALL_TALK[-2]))
        alice.wait("gets bob's public messages", alice.has_message("bob", SMALL_TALK[-1]))
        alice.check("got the public messages in order", alice.message_texts() == SMALL_TALK, str(alice.message_texts()))

        # In Red.
        bob.click_room("Red")
        bob.wait("is in Red (the button says Leave)", "document.querySelector('#rooms li[data-room=\"Red\"]').classList.contains('in')")
        bob.check("Red's button shows the state", bob.room_state("Red") == [True, "Leave"], str(bob.room_state("Red")))
        bob.check("Green's button shows the state", bob.room_state("Green") == [False, "Join"], str(bob.room_state("Green")))
        bob.say("only in red")
        bob.wait("sees its own Red message, tagged Red", bob.has_message("bob", "only in red", "Red"))
        alice.click_room("Red")
        alice.wait("is in Red", "document.querySelector('#rooms li[data-room=\"Red\"]').classList.contains('in')")
        alice.say("hi red")
        bob.wait("gets alice's Red message, tagged Red", bob.has_message("alice", "hi red", "Red"))
        alice.check("did not get bob's Red message from before she joined", "only in red" not in alice.message_texts())

        # Privately with @.
        alice.say("@bob just for you")
        bob.wait("gets the private message, marked private", bob.has_message("alice", "just for you", "private"))
        alice.wait("sees hers marked private to bob", alice.has_message("alice", "just for you", "private to bob"))
        alice.say("@carol anyone?")
        alice.wait("is told carol is not online", alice.has_line("carol is not online."))

        # The newest 20 bob may see, after a reload.
        alice.click_room("Red")
        alice.wait("left Red", "!document.querySelector('#rooms li[data-room=\"Red\"]').classList.contains('in')")
        bob.reload()
        bob.wait("is bob again after the reload (its key)", "document.getElementById('me').textContent === 'bob'")
        bob.wait("shows the history notice", bob.has_line("— the last 20 messages you may see —"))
        bob.check("is still in Red after the reload", bob.room_state("Red") == [True, "Leave"], str(bob.room_state("Red")))
        expected = (SMALL_TALK + ["only in red", "hi red", "just for you"])[-20:]
        bob.check("shows the newest 20 messages it may see, oldest first", bob.message_texts() == expected,
                  f"got {bob.message_texts()}")
        alice.wait("sees bob left and joined again", f"{alice.has_line('bob left')} && "
                   "[...document.querySelectorAll('#log > div')].filter(d => d.textContent === 'bob joined').length === 2")

        # Friend chat; alice has a second tab (same browser: same user).
        alice2 = ChatPage("alice, 2nd tab", stack.enter_context(connect(open_tab(alice_browser), max_size=None)), results)
        alice2.open(url)
        alice2.wait("is alice too (the browser's key)", "document.getElementById('me').textContent === 'alice'")
        alice.submit("befriend", {"friend-name": "nobody"})
        alice.wait("is told nobody is named nobody", "document.getElementById('friend-error').textContent === 'Nobody is named nobody.'")
        alice.submit("befriend", {"friend-name": "bob"})
        alice.wait("has bob as a friend", f"!!{alice.friend_item('bob')}")
        alice2.wait("has bob as a friend too", f"!!{alice2.friend_item('bob')}")
        bob.wait("has alice as a friend", f"!!{bob.friend_item('alice')}")
        bob.open_friend("alice")
        bob.submit("friend-say", {"friend-type": "text", "friend-text": "hi alice, friend"})
        bob.wait("sees its message in the conversation", "document.querySelector('#conversation-log').textContent.includes('hi alice, friend')")
        alice.wait("shows 1 unread from bob", f"{alice.friend_item('bob')}.querySelector('.badge')?.textContent === '1'")
        alice2.wait("shows 1 unread from bob too", f"{alice2.friend_item('bob')}.querySelector('.badge')?.textContent === '1'")
        alice.open_friend("bob")
        alice.wait("reads bob's message in the conversation", "document.querySelector('#conversation-log').textContent.includes('hi alice, friend')")
        alice2.open_friend("bob")
        alice2.wait("reads it too", "document.querySelector('#conversation-log').textContent.includes('hi alice, friend')")
        alice.submit("friend-say", {"friend-type": "emoji", "friend-text": "☺"})
        bob.wait("gets alice's emoji", "document.querySelector('#conversation-log .emoji')?.textContent === '☺'")
        alice2.wait("gets it in the second tab", "document.querySelector('#conversation-log .emoji')?.textContent === '☺'")
        alice.check("conversation reads oldest first", alice.conversation() == ["bob: hi alice, friend", "alice: ☺"], str(alice.conversation()))
        alice.click_room("Red")
        alice.wait("is in Red again", "document.querySelector('#rooms li[data-room=\"Red\"]').classList.contains('in')")
        bob.say("see you in Red")
        alice.wait("gets bob's Red message", alice.has_message("bob", "see you in Red", "Red"))
        alice.say("on my way")
        bob.wait("gets alice's reply in Red", bob.has_message("alice", "on my way", "Red"))
        if screenshots:
            Path(screenshots).mkdir(parents=True, exist_ok=True)
            time.sleep(0.3)
            alice.screenshot(Path(screenshots) / "chat-alice.png")
            bob.screenshot(Path(screenshots) / "chat-bob.png")

        # A flood: refused, with the reason shown.
        bob.js("for (let i = 0; i < 15; i++) { document.getElementById('text').value = 'flood ' + i;"
               " document.getElementById('say').requestSubmit(); } true")
        bob.wait("shows why the flood was refused",
                 "[...document.querySelectorAll('#log > div.system')].some(d => d.textContent.startsWith('You are sending too fast'))")

        # XSS in a name and in a message: text, and no script runs.
        mallory_browser = stack.enter_context(headless_chromium("chat-mallory", "--window-size=1400,820"))
        mallory = ChatPage("mallory", stack.enter_context(connect(mallory_browser, max_size=None)), results)
        mallory.open(url)
        mallory.say(XSS_NAME)
        mallory.wait("takes a name that is markup", f"document.getElementById('me').textContent === {json.dumps(XSS_NAME)}")
        mallory.say(XSS_TEXT)
        for page in (alice, bob):
            page.wait("shows the markup name joining as text", page.has_line(XSS_NAME + " joined"))
        for page in (alice, bob, mallory):
            page.wait("shows the markup message as text", page.has_message(XSS_NAME, XSS_TEXT))
            time.sleep(0.2)
            page.check("ran no script from it (window.__xss unset)", page.js("typeof window.__xss") == "undefined",
                       str(page.js("window.__xss")))
            page.check("made no element of it", page.js("document.querySelectorAll('#log img, #log script, #online img').length") == 0)

        # Leaving: the last tab of a user closes.
        bob.devtools.call("Page.navigate", url="about:blank")
        alice.wait("sees bob left", "[...document.querySelectorAll('#log > div')].filter(d => d.textContent === 'bob left').length === 2")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the chat server, http://HOST:PORT")
    parser.add_argument("--screenshots", help="a directory for chat-alice.png and chat-bob.png")
    args = parser.parse_args()
    results = Results()
    run(args.url.rstrip("/") + "/", args.screenshots, results)
    print(f"chromium chat: {results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
