"""Load-generation harness shared by the benchmarks (ingest.py) and the load suites to come.

* payloads: browser-like batches of mixed events (`make_event`, `make_body`); `Bodies`, a pool of
  pre-built bodies cycled with fresh event ids on every pass;
* child processes: `spawn` (output in files, always stopped on the way out), `stop`, `free_port`,
  `wait_for_output`, `wait_ready`, `cpu_seconds`;
* `serve_null`: a one-route app that reads the body and answers 202, to measure the HTTP stack alone;
* clients: `posters` gives one `Poster` per concurrent client, a lean keep-alive `Connection` or an
  `HttpxPoster`; a 202 answer decodes as `Reply`;
* the closed-loop driver: `hammer` runs `client_loop` per client until a deadline, counting into a
  `Tally`; `run_async` runs it on uvloop; `percentile` for latencies.
"""

import asyncio
import math
import os
import random
import re
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import httpx
import msgspec

REPO: Final = Path(__file__).resolve().parents[1]
BATCH_PATH: Final = "/v1/batch"
ORIGIN: Final = "http://localhost:5173"  # a browser page; the default site allows http://localhost:*
ID_MARK: Final = b'"id":"00000000-'  # every pooled event id starts with 8 zero hex digits
NULL_READY: Final = "null endpoint listening"
STOP_TIMEOUT_S: Final = 60.0
CLIENTS: Final = {"raw": "one asyncio-streams connection per client", "httpx": f"httpx {httpx.__version__}"}
POOL_EVENTS: Final = 50_000  # events per pool of distinct bodies (at least 16, at most 1,000 bodies)
T = TypeVar("T")

# -- events and bodies --------------------------------------------------------------------------

PAGES: Final = (
    "https://shop.example/",
    "https://shop.example/pricing",
    "https://shop.example/docs/getting-started#install",
    "https://shop.example/blog/clickhouse-at-scale",
    "https://shop.example/product/a1?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale",
    "https://shop.example/search?q=running+shoes&page=2",
)
REFERRERS: Final = ("https://www.google.com/", "https://news.ycombinator.com/", "https://t.co/x1y2z3", "")
TITLES: Final = ("Shop", "Pricing", "Getting started", "ClickHouse at scale", "Product A1", "Search")
SELECTORS: Final = (
    "main > section.hero > a.cta",
    "nav > ul > li:nth-child(3) > a",
    "#add-to-cart",
    "form#signup input[type=email]",
    "footer a.privacy",
)
TRACKS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("add_to_cart", {"sku": "A1", "price": 19.99, "qty": 1, "currency": "EUR"}),
    ("signup", {"plan": "pro", "trial": True}),
    ("search", {"query": "running shoes", "results": 42}),
    ("video_play", {"video": "intro", "position_s": 0}),
)
SCREENS: Final = ((1280, 800), (1920, 1080), (390, 844), (1440, 900))
KINDS: Final = ("click", "pageview", "scroll", "track")
WEIGHTS: Final = (40, 20, 25, 15)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_id(rng: random.Random) -> str:
    """A random UUIDv4 whose first 8 hex digits are zero: Bodies.take rewrites them per pass."""
    return "00000000" + str(uuid.UUID(int=rng.getrandbits(128), version=4))[8:]


def make_event(rng: random.Random, now: datetime, visitor: dict[str, Any]) -> dict[str, Any]:
    kind = rng.choices(KINDS, WEIGHTS)[0]
    page = rng.randrange(len(PAGES))
    width, height = visitor["screen"]
    doc_h = height * rng.randint(2, 8)
    base: dict[str, Any] = {
        "id": event_id(rng),
        "type": kind,
        "ts": iso(now - timedelta(milliseconds=rng.randint(0, 60_000))),
        "anonymous_id": visitor["anonymous_id"],
        "session_id": visitor["session_id"],
        "url": PAGES[page],
    }
    if kind == "pageview":
        base |= {"referrer": rng.choice(REFERRERS), "title": TITLES[page], "viewport_w": width, "viewport_h": height}
    elif kind == "click":
        base |= {
            "x": rng.randint(0, width - 1),
            "y": rng.randint(0, doc_h - 1),
            "viewport_w": width,
            "viewport_h": height,
            "doc_w": width,
            "doc_h": doc_h,
            "selector": rng.choice(SELECTORS),
            "el_x": rng.randint(0, 200),
            "el_y": rng.randint(0, 40),
        }
    elif kind == "scroll":
        base |= {"depth": round(rng.uniform(5, 100), 1), "doc_h": doc_h, "viewport_h": height}
    else:
        name, properties = rng.choice(TRACKS)
        base |= {"name": name, "properties": properties}
    return base


def make_body(rng: random.Random, key: str, events: int, now: datetime) -> bytes:
    """One batch as a browser tab would send it: one visitor and session, mixed events."""
    visitor = {
        "anonymous_id": f"anon-{rng.getrandbits(64):016x}",
        "session_id": f"sess-{rng.getrandbits(48):012x}",
        "screen": rng.choice(SCREENS),
    }
    return msgspec.json.encode(
        {
            "key": key,
            "sent_at": iso(now),
            "context": {"library": {"name": "footfall-js", "version": "0.1.0"}},
            "events": [make_event(rng, now, visitor) for _ in range(events)],
        }
    )


def pool_size(batch: int) -> int:
    return max(16, min(1000, POOL_EVENTS // batch))


@dataclass
class Bodies:
    """Distinct pre-built bodies, cycled; each pass over the pool gives every event id a new prefix."""

    pool: list[bytes]
    events: int
    taken: int = 0

    @classmethod
    def build(cls, key: str, batch: int, seed: int) -> "Bodies":
        rng = random.Random(seed)
        now = datetime.now(UTC)
        return cls([make_body(rng, key, batch, now) for _ in range(pool_size(batch))], batch)

    def take(self) -> bytes:
        passes, index = divmod(self.taken, len(self.pool))
        self.taken += 1
        body = self.pool[index]
        return body if passes == 0 else body.replace(ID_MARK, b'"id":"%08x-' % passes)


# -- subprocesses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    name: str
    proc: "subprocess.Popen[bytes]"
    stdout: Path
    stderr: Path

    def tail(self, lines: int = 20) -> str:
        text = self.stderr.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in text) or "    (nothing on stderr)"


@contextmanager
def spawn(name: str, argv: list[str], logs: Path) -> Iterator[Child]:
    """Start a subprocess with its output in files; it is always gone when the block ends."""
    out_path, err_path = logs / f"{name}.stdout", logs / f"{name}.stderr"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO, env=env)
        try:
            yield Child(name, proc, out_path, err_path)
        finally:
            stop(proc, STOP_TIMEOUT_S)


def stop(proc: "subprocess.Popen[bytes]", timeout_s: float) -> int:
    """SIGTERM, wait up to timeout_s, then SIGKILL. Returns the exit status (negative: a signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_output(child: Child, pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = pattern.search(child.stdout.read_text(errors="replace"))
        if match:
            return match
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}) before printing it:\n{child.tail()}")
        time.sleep(0.05)
    raise RuntimeError(f"{child.name} printed no {pattern.pattern!r} within {timeout_s:.0f}s:\n{child.tail()}")


def wait_ready(child: Child, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    with httpx.Client(base_url=url, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.tail()}")
            try:
                answer = http.get("/readyz")
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} not ready within {timeout_s:.0f}s ({last}):\n{child.tail()}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the null endpoint (runs in its own process) ------------------------------------------------


def serve_null(port: int) -> None:
    """A one-route app under uvicorn, configured and bound as `footfall serve` does (collector/cli.py)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    answer = b'{"accepted":0,"rejected":[]}'

    async def batch(request: Request) -> Response:
        await request.body()
        return Response(answer, status_code=202, media_type="application/json")

    async def readyz(request: Request) -> Response:
        return Response(b'{"ready":true}', media_type="application/json")

    app = Starlette(routes=[Route(BATCH_PATH, batch, methods=["POST"]), Route("/readyz", readyz, methods=["GET"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    print(f"{NULL_READY} on 127.0.0.1:{port}", flush=True)
    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


# -- load ---------------------------------------------------------------------------------------


class Reply(msgspec.Struct):
    accepted: int = 0
    rejected: list[msgspec.Raw] = []


REPLY: Final = msgspec.json.Decoder(Reply)
NO_ANSWER: Final = (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


class Poster(Protocol):
    async def post(self, body: bytes) -> tuple[int, bytes]: ...
    def close(self) -> None: ...


class Connection:
    """One keep-alive HTTP/1.1 connection POSTing pre-built bodies to /v1/batch.

    The default client: it costs ~40 us of CPU per request here, where httpx.AsyncClient costs
    ~1.5 ms (httpcore retries a failing `import sniffio` on every request, and its pool is O(n^2)
    in connections); on 2 CPUs httpx would make the client, not the server, the bottleneck.
    """

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._head = (
            f"POST {BATCH_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Origin: {ORIGIN}\r\nContent-Length: "
        ).encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._exchange(body)
        except BaseException:
            self.close()  # the connection's state is unknown: the next request opens a new one
            raise

    async def _exchange(self, body: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.writelines((self._head, b"%d\r\n\r\n" % len(body), body))
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        length = re.search(rb"\r\ncontent-length: *(\d+)", head)
        if not head.startswith(b"http/1.1 ") or length is None:
            raise ValueError(f"unexpected answer head {head[:200]!r}")
        content = await reader.readexactly(int(length.group(1)))
        if b"\r\nconnection: close" in head:
            self.close()
        return int(head[9:12]), content

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


class HttpxPoster:
    """The same requests through a shared httpx.AsyncClient (--client httpx), for comparison."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, body: bytes) -> tuple[int, bytes]:
        response = await self.http.post(BATCH_PATH, content=body)
        return response.status_code, response.content

    def close(self) -> None:
        pass


@asynccontextmanager
async def posters(url: str, client: str, concurrency: int, timeout_s: float) -> AsyncIterator[list[Poster]]:
    """One Poster per concurrent client (client: a key of CLIENTS); all connections are closed on the way out."""
    if client == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Content-Type": "application/json", "Origin": ORIGIN}
        timeout = httpx.Timeout(timeout_s)
        async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=timeout) as http:
            yield [HttpxPoster(http) for _ in range(concurrency)]
        return
    address = httpx.URL(url)
    port = address.port or 80
    connections = [Connection(address.host, port, timeout_s) for _ in range(concurrency)]
    try:
        yield list(connections)
    finally:
        for connection in connections:
            connection.close()


@dataclass
class Tally:
    """What the clients of one phase saw; only that phase's clients change it."""

    requests: int = 0  # answered, whatever the status
    ok_requests: int = 0  # answered 202
    ok_events: int = 0  # events in requests answered 202
    accepted: int = 0  # sum of "accepted" in the 202 answers
    rejected: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # no answer: exception name
    latencies: list[float] = field(default_factory=list)

    def record(self, status: int, content: bytes, events: int, seconds: float) -> None:
        self.requests += 1
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if status == 202:
            reply = REPLY.decode(content)
            self.ok_requests += 1
            self.ok_events += events
            self.accepted += reply.accepted
            self.rejected += len(reply.rejected)

    @property
    def not_202(self) -> int:
        return self.requests - self.ok_requests + sum(self.failures.values())


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def client_loop(poster: Poster, bodies: Bodies, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        body = bodies.take()
        started = time.perf_counter()
        try:
            status, content = await poster.post(body)
        except (*NO_ANSWER, httpx.HTTPError) as exc:
            tally.failures[type(exc).__name__] += 1
            await asyncio.sleep(0.05)  # do not spin on a dead server
            continue
        tally.record(status, content, bodies.events, time.perf_counter() - started)


async def hammer(clients: list[Poster], bodies: Bodies, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    async with asyncio.TaskGroup() as group:
        for poster in clients:
            group.create_task(client_loop(poster, bodies, deadline, tally))
    return tally


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """The client's event loop: uvloop when installed (it is, with uvicorn[standard]), as the server's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
