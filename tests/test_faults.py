"""Bad days under load: the collector killed at random moments while clients post, and clients that
trickle their requests. Bounded in time; each test prints what it tried."""

import contextlib
import random
import re
import signal
import socket
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

import httpx
import payloads
from processes import CLEAN_EXIT, Served, rss_kb, serving
from support import stored_once, tried, wait_until

from collector.storage.store_chdb import ChdbStore

FAST = {"FOOTFALL_MAX_DELAY_MS": "30"}
SEED = 20261123
CYCLES = 4
CLIENTS = 4


def make_batch(key: str, n: int, rng: random.Random) -> payloads.Payload:
    """The n-th batch: a browser fetch, a beacon (plain or gzip) or an SDK batch, every event id unique."""
    now = payloads.utcnow()
    visitor = payloads.Visitor(random.Random(rng.getrandbits(64)))
    kind = n % 4
    if kind == 3:
        return payloads.sdk_batch(visitor, key, payloads.server_events(visitor, rng.randint(20, 60), now), now)
    events = payloads.browser_events(visitor, rng.randint(1, 20), now)
    if kind == 0:
        return payloads.json_batch(visitor, key, events, now)
    return payloads.beacon(visitor, key, events, now, compress=kind == 2)


class Clients:
    """Threads posting as SDKs do: new batches while `fresh` is set, and a batch without a 202 goes back
    in the queue and is sent again, same ids, once the collector answers."""

    def __init__(self, key: str, rng: random.Random) -> None:
        self.key, self.rng = key, rng
        self.fresh = True
        self.retry: deque[payloads.Payload] = deque()
        self.sent: set[str] = set()
        self.acknowledged: set[str] = set()
        self.lock = threading.Lock()
        self.posts = 0

    def next_batch(self) -> payloads.Payload | None:
        with self.lock:
            self.posts += 1
            if self.retry:
                return self.retry.popleft()
            if not self.fresh:
                return None
            batch = make_batch(self.key, self.posts, self.rng)
            self.sent.update(str(i) for i in batch.ids)
            return batch

    def run(self, url: str, until: threading.Event) -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            while not until.is_set() and (batch := self.next_batch()) is not None:
                try:
                    answer = http.post(batch.path, content=batch.body, headers=batch.headers)
                    ok = answer.status_code == 202
                    assert ok or answer.status_code == 503, answer.text  # anything else is a bug
                except httpx.TransportError:
                    ok = False
                with self.lock:
                    if ok:
                        self.acknowledged.update(str(i) for i in batch.ids)
                    else:
                        self.retry.append(batch)
                if not ok:
                    until.wait(0.05)  # a client's pause before the next try; it ends if the load does

    def load(self, url: str, *, until: Callable[[], bool] | None = None, timeout_s: float = 30.0) -> None:
        """CLIENTS threads until `until()` holds (then they stop where they are), or, without it, until
        no retry is left."""
        stop = threading.Event()
        threads = [threading.Thread(target=self.run, args=(url, stop)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        if until is not None:
            wait_until(until, timeout_s=timeout_s, what="the end of this load")
            stop.set()
        for thread in threads:
            thread.join(timeout=60)


def test_sigkill_at_random_moments_under_load_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = tmp_path / "data"
    with serving(data, env=FAST) as served:
        write_key = re.search(r"write key: (ffw_\S+)", "".join(served.output)).group(1)  # type: ignore[union-attr]
    clients = Clients(write_key, rng)
    kills = []
    for _ in range(CYCLES):
        with serving(data, env=FAST) as served:
            moment = rng.uniform(0.2, 1.5)
            killer = threading.Timer(moment, served.process.send_signal, args=(signal.SIGKILL,))
            killer.start()
            # Posting up to the kill and on, until the process is gone.
            clients.load(served.url, until=lambda: served.process.poll() is not None)
            killer.join()
            kills.append((round(moment, 2), len(clients.acknowledged)))
        assert served.process.returncode == -signal.SIGKILL
    clients.fresh = False
    with serving(data, env=FAST) as served:
        clients.load(served.url)  # every batch that got no 202
        assert not clients.retry
    assert served.process.returncode == 0
    tried["faults: SIGKILL under load"].update(kills=CYCLES, posts=clients.posts, events=len(clients.sent))
    print(
        f"{CYCLES} kills at (s after start, events acknowledged so far): {kills};",
        f"{clients.posts} posts, {len(clients.sent)} events",
    )

    assert clients.acknowledged == clients.sent
    stored_once(ChdbStore(data, database="footfall"), clients.sent)


def test_load_across_clean_stops_and_kills_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """Lives under load that end in a clean stop (SIGTERM, SIGINT: the folder drains, so the next life
    numbers its segments from 1 again) or a kill, while the clients go on posting until the process is
    gone. The crash suite restarts right after a 202; this restarts in the middle of traffic."""
    rng = random.Random(SEED + 1)
    data = tmp_path / "data"
    with serving(data, env=FAST) as served:
        write_key = re.search(r"write key: (ffw_\S+)", "".join(served.output)).group(1)  # type: ignore[union-attr]
    clients = Clients(write_key, rng)
    lives = []
    for stop in (signal.SIGTERM, signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGTERM):
        with serving(data, env=FAST) as served:
            target = len(clients.acknowledged) + 1500
            signalled = False

            def ended(served: Served = served, stop: signal.Signals = stop, target: int = target) -> bool:
                nonlocal signalled
                if not signalled and len(clients.acknowledged) >= target:
                    served.process.send_signal(stop)  # the clients go on posting meanwhile
                    signalled = True
                return served.process.poll() is not None

            clients.load(served.url, until=ended, timeout_s=120)
            lives.append((stop.name, len(clients.acknowledged)))
        assert served.process.returncode in CLEAN_EXIT[stop], "".join(served.output)[-2000:]
    clients.fresh = False
    with serving(data, env=FAST) as served:
        clients.load(served.url)  # every batch that got no 202
        assert not clients.retry
    tried["faults: stops and kills under load"].update(lives=len(lives), posts=clients.posts, events=len(clients.sent))
    print(f"lives (stop, events acknowledged so far): {lives}; {clients.posts} posts, {len(clients.sent)} events")

    assert clients.acknowledged == clients.sent
    stored_once(ChdbStore(data, database="footfall"), clients.sent)


def test_slow_clients_are_cut_off_and_hold_neither_memory_nor_the_door(tmp_path: Path) -> None:
    """Slowloris: 200 connections trickling headers, and 50 announcing a large body and sending a few
    bytes of it. Ordinary batches are answered 202 meanwhile, memory stays bounded, and the collector
    closes the first kind at the header deadline and answers the second 408 at the body deadline."""
    env = {**FAST, "FOOTFALL_HEADER_TIMEOUT_S": "1", "FOOTFALL_BODY_TIMEOUT_S": "2"}
    with serving(tmp_path / "data", env=env) as served:
        write_key = re.search(r"write key: (ffw_\S+)", "".join(served.output)).group(1)  # type: ignore[union-attr]
        host, port = served.url.removeprefix("http://").split(":")
        rss_before = rss_kb(served.process.pid)
        headers_slow, body_slow = [], []
        for n in range(250):
            sock = socket.create_connection((host, int(port)), timeout=5)
            if n < 200:
                sock.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                headers_slow.append(sock)
            else:
                sock.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
                sock.sendall(b'Content-Length: 900000\r\n\r\n{"events": [')
                body_slow.append(sock)
        try:
            rng = random.Random(SEED)
            batches = [make_batch(write_key, n, rng) for n in range(20)]
            with httpx.Client(base_url=served.url, timeout=30) as http:
                for batch in batches:
                    for sock in [*headers_slow[::10], *body_slow[::10]]:
                        with contextlib.suppress(OSError):  # a byte now and then; closed ones refuse it
                            sock.sendall(b"a")
                    answer = http.post(batch.path, content=batch.body, headers=batch.headers)
                    assert answer.status_code == 202, answer.text
            rss_after = rss_kb(served.process.pid)
            closed = [answer_of(sock) for sock in headers_slow]
            timed_out = [answer_of(sock) for sock in body_slow]
            assert closed == [b""] * len(headers_slow), "headers that never end: the connection is closed"
            assert all(a.startswith(b"HTTP/1.1 408") and b"body_timeout" in a for a in timed_out), timed_out[:1]
        finally:
            for sock in [*headers_slow, *body_slow]:
                sock.close()
        tried["faults: slow clients"].update(
            slow_headers_closed=len(headers_slow),
            slow_bodies_408=len(body_slow),
            batches_answered_meanwhile=len(batches),
        )
        print(f"250 slow connections, 20 batches answered 202; RSS {rss_before >> 10} -> {rss_after >> 10} MiB")
        assert rss_after - rss_before < 64 * 1024, "slow connections should not cost tens of MiB"
        assert served.process.poll() is None


def answer_of(sock: socket.socket) -> bytes:
    """What the server sends before it closes the connection (b"": closed without a word); waits up to 10 s."""
    sock.settimeout(10)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received
