"""A loopback collector stand-in whose answers a test scripts: 202s, 500s, 503s, 429 + Retry-After,
hangs and connection resets. It records every event it acknowledged, so tests count losses and
duplicates by event id."""

import gzip
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Plan = Callable[[int], tuple[str, int, dict[str, str]]]  # request number -> (action, status, headers)


def always_ok(number: int) -> tuple[str, int, dict[str, str]]:
    return ("answer", 202, {})


class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, plan: Plan, upstream: str | None = None, bodies: dict[int, bytes] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.plan = plan
        self.answers = bodies or {}  # status -> what to answer with it (instead of {})
        self.upstream = upstream  # a real collector: 202s are its answers; "lose_answer" forwards, then cuts
        self.lock = threading.Lock()
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.release = threading.Event()  # set to let "hang" requests finish

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def unique(self) -> set[str]:
        with self.lock:
            return set(self.ids)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            number = self.server.requests
            self.server.requests += 1
        action, status, headers = self.server.plan(number)
        if self.server.upstream and action in ("answer", "lose_answer") and status == 202:
            status, out = self._forward(body)
            if action == "lose_answer":  # the collector has the batch; the client never hears so
                action = "reset"
            else:
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(out)}\r\n\r\n"
                self.wfile.write(head.encode() + out)
                return
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if action == "hang":
            self.server.release.wait(30)
            return
        out = self.server.answers.get(status, b"{}")
        if status == 202:
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            batch = json.loads(body)
            with self.server.lock:
                self.server.bodies.append(batch)
                self.server.ids.extend(e["id"] for e in batch["events"])
            out = json.dumps({"accepted": len(batch["events"]), "rejected": []}).encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(out)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.wfile.write(head.encode() + b"\r\n" + out)

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        assert self.server.upstream
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "content-encoding")}
        request = urllib.request.Request(f"{self.server.upstream}/v1/batch", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status), bytes(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def sink(plan: Plan = always_ok, upstream: str | None = None, bodies: dict[int, bytes] | None = None) -> Iterator[Sink]:
    server = Sink(plan, upstream, bodies)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def failing_for(seconds: float, status: int = 503, headers: dict[str, str] | None = None) -> Plan:
    """Answer `status` until `seconds` after the first request, then 202."""
    start: list[float] = []

    def plan(number: int) -> tuple[str, int, dict[str, str]]:
        now = time.monotonic()
        if not start:
            start.append(now)
        if now - start[0] < seconds:
            return ("answer", status, headers or {})
        return ("answer", 202, {})

    return plan
