"""A healthy room measured by wsbench while a fault happens beside it: the
p99 of each second (wsbench's live line), split into before, during and after
the fault, and wsbench's own verdict on loss and errors (its --json)."""
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

LINE = re.compile(r"wsbench\s+\d+s (\S+)\s+open\s+(\d+).*?(?:p99\s+(\S+))?\s+max")
UNITS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def milliseconds(text):
    match = re.fullmatch(r"([\d.]+)(ns|us|ms|s)", text)
    return float(match.group(1)) * UNITS[match.group(2)] if match else None


class HealthyRoom:
    """wsbench --scenario broadcast: `members` WebSockets in `room`, one publishing `rate` msg/s for `seconds`."""

    def __init__(self, wsbench, url, members, rate, seconds, size=64):
        self.json_path = tempfile.mktemp(prefix="chaos-room-", suffix=".json")
        self.command = [wsbench, "--scenario", "broadcast", "-c", str(members), "-r", str(rate), "-s", str(size),
                        "-t", "1", "-d", f"{seconds}s", "--warmup", "1s", "--timeout", "10s",
                        "--json", self.json_path, url]
        self.seconds_lines = []  # (wall time, phase, open, p99 ms or None)
        self.measuring = threading.Event()
        self.process = None
        self.thread = None

    def start(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        if not self.measuring.wait(120):
            raise RuntimeError("the healthy room never started measuring: " + " ".join(self.command))
        return self

    def _read(self):
        for line in self.process.stderr:
            match = LINE.search(line)
            if not match:
                continue
            phase, open_count, p99 = match.group(1), int(match.group(2)), match.group(3)
            self.seconds_lines.append((time.time(), phase, open_count, milliseconds(p99) if p99 else None))
            if phase == "measure":
                self.measuring.set()

    def finish(self, after=None, timeout=180):
        """wsbench's JSON report (None if it wrote none) after it exits; with `after`, that many
        seconds from now it is interrupted (it still reports loss and errors, and marks itself interrupted)."""
        if after is not None:
            try:
                self.process.wait(after)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.thread.join(5)
        try:
            with open(self.json_path) as file:
                return json.load(file)
        except (OSError, ValueError):
            return None
        finally:
            if os.path.exists(self.json_path):
                os.unlink(self.json_path)

    def p99_by_phase(self, fault_start, fault_end):
        """Per-second p99s while measuring: before, during and after [fault_start, fault_end]."""
        split = {"before": [], "during": [], "after": []}
        for when, phase, _, p99 in self.seconds_lines:
            if phase != "measure" or p99 is None:
                continue
            # A line covers the second before it was printed.
            key = "before" if when <= fault_start else "during" if when <= fault_end + 1 else "after"
            split[key].append((when, p99))
        return split


def summarize(split, fault_end):
    """Worst p99 of each phase, and how long after the fault it stayed above max(2 × the median before, that + 5 ms)."""
    def worst(values):
        return max(v for _, v in values) if values else None
    before = sorted(v for _, v in split["before"])
    median = before[len(before) // 2] if before else None
    elevated_until = None
    if median is not None:
        threshold = max(2 * median, median + 5)
        for when, p99 in split["during"] + split["after"]:
            if p99 > threshold:
                elevated_until = when
    return {
        "p99_before_ms": worst(split["before"]), "p99_during_ms": worst(split["during"]),
        "p99_after_ms": worst(split["after"]), "median_before_ms": median,
        "elevated_after_fault_s": max(0.0, elevated_until - fault_end) if elevated_until else 0.0,
    }
