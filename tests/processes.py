"""`footfall` in processes of its own, as a user (or a crash) meets it."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FOOTFALL = [sys.executable, "-m", "collector"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
# How `serve` ends after each signal. After SIGINT, 130 as a shell reports Ctrl-C, or 0 where SIGINT came
# in ignored (a background job of a non-interactive shell) and only uvicorn's own handler saw it.
CLEAN_EXIT = {signal.SIGTERM: (0,), signal.SIGINT: (0, 130), signal.SIGKILL: (-signal.SIGKILL,)}


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOOTFALL, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**ENV, **(env or {})},
        cwd=cwd,
    )


class Served:
    def __init__(self, process: subprocess.Popen[str], lines: "queue.Queue[str | None]") -> None:
        self.process = process
        self.lines = lines
        self.output: list[str] = []
        self.url = ""

    def read_until(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        regex = re.compile(pattern)
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise AssertionError("footfall serve exited early:\n" + "".join(self.output))
            self.output.append(line)
            match = regex.search(line)
            if match:
                return match


@contextmanager
def serving(data: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`footfall serve` in a process of its own on a free port; SIGTERM at the end (if still alive)."""
    process = subprocess.Popen(
        [*FOOTFALL, "serve", "--data", str(data), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**ENV, **(env or {})},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()
    served = Served(process, lines)
    try:
        served.url = served.read_until(r"collecting at (http://\S+)").group(1)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        pumping.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")
