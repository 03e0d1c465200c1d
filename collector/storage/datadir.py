"""The data folder: who owns it, and how a CLI command finds the server that does.

The embedded engine must be opened by one process only (a second one would see an empty or damaged
store), so the owner holds an exclusive flock on `footfall.lock` for as long as it runs. A running
`footfall serve` also leaves `server.json` (its pid and URL) and an `admin.token` beside it, so CLI
commands can ask the server to act for them instead of failing.
"""

import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import IO, Any

from collector.errors import ConfigError, DataDirLocked


class DataDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.abspath(path))  # messages name the folder wherever the command ran
        self._lock_file: IO[str] | None = None

    @property
    def clickhouse_path(self) -> Path:
        return self.path / "clickhouse"

    def holds_store(self) -> bool:
        """Whether the embedded engine has been opened here before (looking creates nothing)."""
        return self.clickhouse_path.is_dir()

    def acquire(self) -> None:
        """Take the folder for this process, or raise DataDirLocked naming the owner."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create data folder {self.path}: {exc.strerror}") from exc
        lock_path = self.path / "footfall.lock"
        handle = lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip()
            handle.close()
            raise self._locked(owner) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    def _locked(self, owner: str) -> DataDirLocked:
        pid = int(owner) if owner.isdigit() else None
        info = self.server_info()
        url = info.get("url") if info and info.get("pid") == pid else None
        who = f"process {pid}" if pid else "another process"
        what = f"footfall serve at {url}" if url else who
        return DataDirLocked(
            f"the data folder {self.path} is in use by {what}; stop it first, or point this command "
            "at another folder with --data",
            owner_pid=pid,
            server_url=url,
        )

    def release(self) -> None:
        if self._lock_file is not None:
            (self.path / "server.json").unlink(missing_ok=True)
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def announce_server(self, url: str) -> str:
        """Record where the owning server listens; return the admin token CLI commands will use."""
        token = "ffa_" + secrets.token_urlsafe(24)
        token_path = self.path / "admin.token"
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(token)
        info = {"pid": os.getpid(), "url": url}
        (self.path / "server.json").write_text(json.dumps(info), encoding="utf-8")
        return token

    def server_info(self) -> dict[str, Any] | None:
        try:
            info = json.loads((self.path / "server.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    def admin_token(self) -> str | None:
        try:
            return (self.path / "admin.token").read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
