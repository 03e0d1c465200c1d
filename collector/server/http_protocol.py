"""The HTTP protocol `footfall serve` runs under uvicorn: uvicorn's httptools protocol with a deadline
for a request's headers, and a JSON answer to a request its parser refuses.

uvicorn closes idle keep-alive connections, but a client that trickles its headers (slowloris) keeps a
connection, and a file descriptor, for as long as it likes. Here the headers of each request must be
complete within `header_timeout_s` of the connection opening (first request) or of the request's first
byte (later ones on a kept-alive connection); otherwise the connection is closed. A slow body is the
app's to bound (`Limits.body_timeout_s`, a 408).
"""

import asyncio
import functools
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from collector.settings import from_env


class HeaderDeadline(HttpToolsProtocol):
    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """What the parser refuses (a request that is not HTTP: bad bytes in the target or a header)
        gets the JSON error every other refusal has, not uvicorn's plain text."""
        body = b'{"error":"invalid_http","detail":"this is not a valid HTTP/1.1 request (request line or headers)"}'
        self.transport.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\nconnection: close\r\n\r\n"
            + body
        )
        self.transport.close()


class HeaderDeadlineFromEnv(HeaderDeadline):
    """For uvicorn's own worker processes (a ClickHouse server with `--workers N`), which are spawned
    with the settings in FOOTFALL_* variables and need a class they can import by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = _timeout_from_env()


@functools.cache
def _timeout_from_env() -> float:
    return from_env().header_timeout_s


def protocol(header_timeout_s: float) -> type[HeaderDeadline]:
    """The protocol class for uvicorn.Config(http=...), with this deadline."""
    return type("HeaderDeadline", (HeaderDeadline,), {"header_timeout_s": header_timeout_s})


def uvicorn_config(app: ASGIApp, *, header_timeout_s: float) -> uvicorn.Config:
    """How `footfall serve` runs an app under uvicorn, in the main process and in edge processes."""
    return uvicorn.Config(app, http=protocol(header_timeout_s), lifespan="on", **SERVE_OPTIONS)


# uvicorn would believe X-Forwarded-For and -Proto from 127.0.0.1 whatever --trusted-proxies says; the
# collector reads forwarded headers itself, from the proxies it is told to trust, and only for addresses.
SERVE_OPTIONS: dict[str, Any] = {"access_log": False, "log_level": "warning", "proxy_headers": False}
