"""One keep-alive HTTP connection per sender thread, stdlib only (imported by the sender thread, not at import)."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import socket
import time
from urllib.parse import urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class Answer:
    __slots__ = ("body", "error", "retry_after_s", "status")

    def __init__(self, status: int, body: bytes, retry_after_s: float | None, error: str | None = None) -> None:
        self.status = status  # 0: no answer (network error)
        self.body = body
        self.retry_after_s = retry_after_s
        self.error = error

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status in RETRYABLE or self.status >= 500

    def _json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body) if self.body else {}
        except ValueError:  # a proxy's HTML page, say
            return {}
        return data if isinstance(data, dict) else {}

    def refusals(self) -> dict[str, int]:
        """Events the collector refused, by reason (a 202, or a 400 naming them: docs/protocol.md)."""
        counts: dict[str, int] = {}
        rejected = self._json().get("rejected")
        for item in rejected if isinstance(rejected, list) else ():
            reason = item.get("reason") if isinstance(item, dict) else None
            key = reason if isinstance(reason, str) and reason else "rejected"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def code_and_detail(self) -> tuple[str, str]:
        """The collector's error code and detail for a refused batch ("" when it sent none)."""
        data = self._json()
        code, detail = data.get("error"), data.get("detail")
        text = self.error or (self.body[:200].decode("utf-8", "replace") if self.body else f"HTTP {self.status}")
        return (code if isinstance(code, str) else "", detail if isinstance(detail, str) else text)


class Transport:
    def __init__(self, host: str, *, timeout_s: float, user_agent: str) -> None:
        parts = urlsplit(host if "://" in host else f"http://{host}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"footfall: host must look like https://collector.example, got {host!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path.rstrip("/") or "") + "/v1/batch"
        self._timeout_s = timeout_s
        self._user_agent = user_agent
        self._conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, *, compress: bool) -> Answer:
        headers = {"Content-Type": "application/json", "User-Agent": self._user_agent}
        if compress:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: one fresh try
            try:
                conn = self._connection()
                conn.request("POST", self._path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 1 and isinstance(
                    exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                ):
                    continue
                return Answer(0, b"", None, f"{type(exc).__name__}: {exc}")
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return Answer(response.status, data, _retry_after(response.getheader("Retry-After")))
        return Answer(0, b"", None, "the connection was closed twice")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout_s)
            self._conn.connect()
            if self._conn.sock is not None:
                self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None
