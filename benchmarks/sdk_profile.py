"""Where footfall's burst spends the GIL: `python_sdk.py --profile` runs each footfall configuration once
more under `py-spy record --gil --threads` (sampling only the thread that holds the GIL, so the samples
add up to the process's Python time, which one core bounds) and turns the samples into µs per event.

Not part of the measured runs (py-spy takes some of the two cores). Needs py-spy (`pip install py-spy`)
next to the running python or on PATH, and ptrace rights over child processes (root, or
kernel.yama.ptrace_scope=0).
"""

import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from report import Table, num

RATE_HZ: Final = 250
FRAME: Final = re.compile(r"^(?P<name>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")
THREAD: Final = re.compile(r"^(?:process \d+:\S+;)?thread \(\d+\)(?:: (?P<name>.*))?$")


def py_spy() -> Path | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return beside
    found = shutil.which("py-spy")
    return Path(found) if found else None


def command(py_spy: Path, out: Path) -> list[str]:
    """The prefix that runs a worker under py-spy (raw collapsed stacks in `out`)."""
    return [str(py_spy), "record", "-r", str(RATE_HZ), "--gil", "--threads", "-f", "raw", "-o", str(out), "--"]


@dataclass(frozen=True)
class Profile:
    samples: int
    threads: Counter[str]  # samples per thread group
    inclusive: Counter[str]  # samples with the function anywhere on the stack
    own: Counter[str]  # samples with the function on top

    def us_per_event(self, samples: int, events: int) -> float:
        return samples / RATE_HZ / events * 1e6


def thread_group(frame: str) -> str:
    match = THREAD.match(frame)
    name = (match.group("name") if match else None) or "(unnamed: start-up)"
    return re.sub(r"-\d+$", "-*", name)


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('name')} ({Path(match.group('file')).name})"


def read(raw: Path) -> Profile:
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        # py-spy puts "process ...;thread (...)" (or just the thread) first; the rest are Python frames.
        first = 2 if frames[0].startswith("process ") else 1
        threads[thread_group(";".join(frames[:first]))] += n
        names = [short(f) for f in frames[first:]]
        for name in set(names):
            inclusive[name] += n
        if names:
            own[names[-1]] += n
    return Profile(samples, threads, inclusive, own)


def tables(profile: Profile, events: int, top: int = 28) -> list[tuple[str, Table]]:
    total = max(1, profile.samples)

    def share(n: int) -> str:
        return f"{100 * n / total:.1f}%"

    def per_event(n: int) -> str:
        return num(profile.us_per_event(n, events), 2)

    threads = Table(
        ["thread", "GIL held, s", "µs/event", "share"],
        [[t, num(n / RATE_HZ, 2), per_event(n), share(n)] for t, n in profile.threads.most_common()]
        + [["all", num(total / RATE_HZ, 2), per_event(total), "100%"]],
    )
    skip = ("Thread._bootstrap", "Thread.run ", "<module>", "main (sdk_worker", "run (sdk_worker")
    rows = [
        [name, per_event(n), share(n), per_event(profile.own[name]), share(profile.own[name])]
        for name, n in profile.inclusive.most_common()
        if not name.startswith(skip)
    ][:top]
    functions = Table(["function (file)", "µs/event incl.", "share incl.", "µs/event own", "share own"], rows)
    return [("GIL time by thread", threads), (f"GIL time by function (top {top}, inclusive)", functions)]
