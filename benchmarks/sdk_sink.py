"""The loopback sink every SDK in benchmarks/python_sdk.py posts to: fast answers, accounting later.

Run as its own process (so it never shares a GIL with the SDK under test):

    python benchmarks/sdk_sink.py --port-file /tmp/port   # binds 127.0.0.1 on a free port, writes it there

`ThreadingHTTPServer`, HTTP/1.1 keep-alive, TCP_NODELAY, and each answer written with one send() (status
line, headers and body together: a response split over two writes meets Nagle and delayed ACKs and costs
tens of milliseconds a request). Every POST is answered *before* anything is parsed; its body is kept raw
with its arrival time and decoded only when the orchestrator asks for /_stats.

What each SDK needs back: footfall (`POST /v1/batch`) a 202 `{"accepted":N,"rejected":[]}` (N counted
in the gunzipped body); the others a 200 `{"status":1,"code":200}` (mixpanel checks `status == 1`,
amplitude reads `code`; posthog, segment and rudder only look at the status). The orchestrator says which
SDK runs next and where its event ids are with `GET /_reset?sdk=NAME&id=KEY` (KEY may be `properties.$insert_id`).
`GET /_stats` decodes what came since the reset (gzip, mixpanel's form encoding, JSON) and counts events,
unique ids and duplicates; the time the last new id arrived tells when everything was delivered.
"""

import argparse
import gzip
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

FOOTFALL_ID: Final = b'"id":"'
PEER_ANSWER: Final = b'{"status":1,"code":200}'


def response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 202: "Accepted", 404: "Not Found"}.get(status, "OK")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


PEER_RESPONSE: Final = response(200, PEER_ANSWER)


@dataclass
class Arrival:
    at: float  # time.time() when the body was read
    encoding: str
    content_type: str
    body: bytes


@dataclass
class Stats:
    """What the sink saw since the last reset (parsed up to the last /_stats call)."""

    sdk: str = ""
    requests: int = 0
    connections: int = 0
    wire_bytes: int = 0
    events: int = 0
    unique: int = 0
    duplicates: int = 0
    without_id: int = 0
    undecodable: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    last_new_id_at: float = 0.0  # when the last id not seen before arrived
    cpu_s: float = 0.0  # the sink's CPU from the reset to its last answer (parsing not included)
    batch_sizes: list[int] = field(default_factory=list)


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset("", "id")

    def reset(self, sdk: str, id_key: str) -> None:
        with self.lock:
            self.sdk = sdk
            self.footfall = sdk.startswith("footfall")
            self.id_path = id_key.split(".")
            self.arrivals: list[Arrival] = []
            self.parsed = 0
            self.seen: set[str] = set()
            self.stats = Stats(sdk=sdk)
            self.cpu0 = time.process_time()
            self.cpu_last = self.cpu0
            self.connections = 0

    def snapshot(self) -> Stats:
        with self.lock:
            arrivals = self.arrivals[self.parsed :]  # list.append from handler threads is atomic
            self.parsed += len(arrivals)
            stats = self.stats
            for arrival in arrivals:
                self._account(arrival, stats)
            stats.requests = self.parsed
            stats.connections = self.connections
            stats.cpu_s = self.cpu_last - self.cpu0
            return Stats(**asdict(stats))

    def _account(self, arrival: Arrival, stats: Stats) -> None:
        stats.wire_bytes += len(arrival.body)
        stats.first_at = stats.first_at or arrival.at
        stats.last_at = max(stats.last_at, arrival.at)
        try:
            events = decode(arrival)
        except (ValueError, KeyError, OSError, EOFError):
            stats.undecodable += 1
            return
        stats.batch_sizes.append(len(events))
        for event in events:
            stats.events += 1
            event_id = find(event, self.id_path)
            if event_id is None:
                stats.without_id += 1
            elif event_id in self.seen:
                stats.duplicates += 1
            else:
                self.seen.add(event_id)
                stats.unique += 1
                stats.last_new_id_at = max(stats.last_new_id_at, arrival.at)


def decode(arrival: Arrival) -> list[Any]:
    body = arrival.body
    if arrival.encoding == "gzip":
        body = gzip.decompress(body)
    if arrival.content_type.startswith("application/x-www-form-urlencoded"):  # mixpanel: data=<json list>
        body = parse_qs(body.decode())["data"][0].encode()
    data = json.loads(body)
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("events", "batch"):
            if isinstance(data.get(key), list):
                events: list[Any] = data[key]
                return events
        return [data]
    raise ValueError("not a batch")


def find(event: Any, path: list[str]) -> str | None:
    for key in path:
        if not isinstance(event, dict) or key not in event:
            return None
        event = event[key]
    return None if event is None else str(event)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    server: "Sink"

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        at = time.time()
        state = self.server.state
        encoding = self.headers.get("Content-Encoding") or ""
        if state.footfall:
            raw = gzip.decompress(body) if encoding == "gzip" else body
            answer = response(202, b'{"accepted":%d,"rejected":[]}' % raw.count(FOOTFALL_ID))
        else:
            answer = PEER_RESPONSE
        self.wfile.write(answer)  # one send()
        state.arrivals.append(Arrival(at, encoding, self.headers.get("Content-Type") or "", body))
        state.cpu_last = time.process_time()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        state = self.server.state
        if parts.path == "/_reset":
            state.reset(query.get("sdk", ""), query.get("id", "id"))
            self.wfile.write(response(200, b"{}"))
        elif parts.path == "/_stats":
            self.wfile.write(response(200, json.dumps(asdict(state.snapshot())).encode()))
        else:
            self.wfile.write(response(404, b"{}"))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Sink(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # amplitude opens a connection per batch, up to 16 at once

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = State()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="stop by itself after this long")
    args = parser.parse_args()
    sink = Sink(args.port)
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(sink.server_address[1]))
    os.replace(tmp, args.port_file)
    timer = threading.Timer(args.max_seconds, sink.shutdown)
    timer.daemon = True
    timer.start()
    try:
        sink.serve_forever(poll_interval=0.2)
    finally:
        sink.server_close()


if __name__ == "__main__":
    main()
