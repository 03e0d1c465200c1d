"""Load-generation harness shared by the benchmarks (ingest.py) and the load suites to come.

* requests: `RequestPool`, pre-built requests (bodies and headers from `traffic`: one visitor each),
  cycled with fresh event ids on every pass;
* child processes: `spawn` (output in files, always stopped on the way out), `stop`, `free_port`,
  `wait_for_output`, `wait_ready`; `tree_cpu_seconds`, the CPU of a process and all its descendants;
* `serve_null`: a one-route app that reads the body and answers 202, to measure the HTTP stack alone
  (several may share a port, as `footfall serve --workers N` does);
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
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import httpx
import msgspec
import traffic

REPO: Final = Path(__file__).resolve().parents[1]
BATCH_PATH: Final = "/v1/batch"
ID_MARK: Final = b'"id":"00000000-'  # every pooled event id starts with 8 zero hex digits
NULL_READY: Final = "null endpoint listening"
NULL_KEY: Final = "ffw_" + "n" * 22  # as long as a real write key, so null bodies have the same size
STOP_TIMEOUT_S: Final = 60.0
CLIENTS: Final = {"raw": "one asyncio-streams connection per client", "httpx": f"httpx {httpx.__version__}"}
POOL_EVENTS: Final = 50_000  # events per pool of distinct bodies (at least 16, at most 1,000 bodies)
T = TypeVar("T")

# -- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One pre-built request: its body (event ids to be rewritten per pass) and its own headers."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    head: bytes  # the same headers as HTTP/1.1 lines
    events: int
    stored: int  # events the collector will store (the rest are dropped: no heatmaps consent)
    server: bool


def pool_size(batch: int) -> int:
    return max(16, min(1000, POOL_EVENTS // batch))


@dataclass
class RequestPool:
    """Distinct pre-built requests (one visitor each), cycled; each pass gives every event id a new prefix."""

    pool: list[Request]
    taken: int = 0

    @classmethod
    def build(cls, key: str, batch: int, seed: int, *, server_share: float) -> "RequestPool":
        rng = random.Random(seed)
        now = datetime.now(UTC)
        pool = []
        for _ in range(pool_size(batch)):
            visitor = traffic.make_visitor(rng, server=rng.random() < server_share)
            headers = visitor.headers()
            head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("latin-1")
            body, stored = traffic.make_body(rng, key, batch, now, visitor)
            pool.append(Request(body, headers, head, batch, stored, visitor.server))
        return cls(pool)

    def take(self) -> tuple[Request, bytes]:
        passes, index = divmod(self.taken, len(self.pool))
        self.taken += 1
        request = self.pool[index]
        body = request.body if passes == 0 else request.body.replace(ID_MARK, b'"id":"%08x-' % passes)
        return request, body


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
def spawn(name: str, argv: list[str], logs: Path, env: dict[str, str] | None = None) -> Iterator[Child]:
    """Start a subprocess with its output in files (`env` on top of ours); it is always gone when the block ends."""
    out_path, err_path = logs / f"{name}.stdout", logs / f"{name}.stderr"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
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


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:port (with SO_REUSEPORT, one per process), from /proc/net/tcp."""
    local = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == local and line.split()[3] == "0A")


def wait_serving(child: Child, url: str, port: int, processes: int, timeout_s: float) -> None:
    """Until `processes` sockets listen on the port and fresh connections are answered.

    Keep-alive connections stay with the process the kernel gave them at connect time, so the load
    must not start before every process listens; then 4 probes per process on new connections (each
    lands on a listener at random) wait out any process still starting its app."""
    deadline = time.monotonic() + timeout_s
    while listeners(port) < processes:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}):\n{child.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{child.name}: {listeners(port)} of {processes} processes listen after {timeout_s:.0f}s"
            )
        time.sleep(0.05)
    for _ in range(4 * processes):
        with httpx.Client(base_url=url, timeout=max(1.0, deadline - time.monotonic())) as fresh:
            fresh.get("/readyz").raise_for_status()


def stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc stat file (a process's or a thread's) after the command name (field 3
    onwards), or None once it is gone."""
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _stat(pid: int) -> list[str] | None:
    return stat_fields(Path(f"/proc/{pid}/stat"))


def process_tree(root: int) -> list[int]:
    """`root` and every live descendant (edge workers, multiprocessing's resource tracker), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def tree_cpu_seconds(roots: Sequence[int]) -> float:
    """User + system CPU (all threads) of each root and its live descendants. A descendant that exits
    between two readings takes its CPU with it: compare readings of a steady tree."""
    ticks = 0
    for pid in {p for root in roots for p in process_tree(root)}:
        fields = _stat(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# -- the null endpoint (runs in its own process) ------------------------------------------------


def serve_null(port: int) -> None:
    """A one-route app under uvicorn, configured and bound as `footfall serve --workers N` does
    (collector/cli/commands.py, collector/server/workers.py): several of these may share the port."""
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
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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
    async def post(self, request: Request, body: bytes) -> tuple[int, bytes]: ...
    def close(self) -> None: ...


class Connection:
    """One keep-alive HTTP/1.1 connection POSTing pre-built requests to /v1/batch.

    The default client: it costs ~40 us of CPU per request here, where httpx.AsyncClient costs
    ~1.5 ms (httpcore retries a failing `import sniffio` on every request, and its pool is O(n^2)
    in connections); on 2 CPUs httpx would make the client, not the server, the bottleneck.
    """

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._head = f"POST {BATCH_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n".encode()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, request: Request, body: bytes) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._exchange(request.head, body)
        except BaseException:
            self.close()  # the connection's state is unknown: the next request opens a new one
            raise

    async def _exchange(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.writelines((self._head, head, b"Content-Length: %d\r\n\r\n" % len(body), body))
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

    async def post(self, request: Request, body: bytes) -> tuple[int, bytes]:
        response = await self.http.post(BATCH_PATH, content=body, headers=request.headers)
        return response.status_code, response.content

    def close(self) -> None:
        pass


@asynccontextmanager
async def posters(url: str, client: str, concurrency: int, timeout_s: float) -> AsyncIterator[list[Poster]]:
    """One Poster per concurrent client (client: a key of CLIENTS); all connections are closed on the way out."""
    if client == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Content-Type": "application/json"}
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
    accepted: int = 0  # sum of "accepted" in the 202 answers (stored, or dropped by policy)
    to_store: int = 0  # of the events in 202 answers, those the collector stores (known from the traffic)
    rejected: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # no answer: exception name
    latencies: list[float] = field(default_factory=list)

    def record(self, status: int, content: bytes, request: Request, seconds: float) -> None:
        self.requests += 1
        self.latencies.append(seconds)
        self.statuses[status] += 1
        if status == 202:
            reply = REPLY.decode(content)
            self.ok_requests += 1
            self.ok_events += request.events
            self.to_store += request.stored
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


async def client_loop(poster: Poster, requests: RequestPool, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        request, body = requests.take()
        started = time.perf_counter()
        try:
            status, content = await poster.post(request, body)
        except (*NO_ANSWER, httpx.HTTPError) as exc:
            tally.failures[type(exc).__name__] += 1
            await asyncio.sleep(0.05)  # do not spin on a dead server
            continue
        tally.record(status, content, request, time.perf_counter() - started)


async def hammer(clients: list[Poster], requests: RequestPool, seconds: float) -> Tally:
    """Every client sends until `seconds` have passed, then finishes the request it has in flight."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    async with asyncio.TaskGroup() as group:
        for poster in clients:
            group.create_task(client_loop(poster, requests, deadline, tally))
    return tally


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """The client's event loop: uvloop when installed (it is, with uvicorn[standard]), as the server's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
