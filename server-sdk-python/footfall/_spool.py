"""An optional, bounded spool on disk for batches the collector could not take in time.

Each batch is one file (written to a temporary name, fsync'd, renamed). A background thread sends
the files oldest first whenever the collector answers, also after the application restarts; the
collector drops what it already has (event ids), so a batch sent twice is stored once.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from footfall._transport import Answer

RETRY_S = 5.0


class DiskSpool:
    def __init__(self, path: str, *, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        return sorted(self.path.glob("*.batch"))

    def size(self) -> int:
        total = 0
        for file in self.files():
            try:
                total += file.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def put(self, body: bytes) -> bool:
        with self._lock:
            if self.size() + len(body) > self.max_bytes:
                return False
            name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
            temp = self.path / f"{name}.tmp"
            with open(temp, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path / f"{name}.batch")
        return True

    def drain(self, post: Callable[[bytes], Answer], stopping: Callable[[], bool]) -> None:
        """Send spooled batches until stopped; a batch leaves the disk once the collector answered it."""
        while not stopping():
            for file in self.files():
                if stopping():
                    return
                try:
                    body = file.read_bytes()
                except FileNotFoundError:  # another process of the same app took it
                    continue
                answer = post(body)
                if answer.retryable:
                    break
                file.unlink(missing_ok=True)
            time.sleep(RETRY_S)
