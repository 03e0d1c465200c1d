"""The queue between the caller and the network, and the sender threads that drain it.

The caller appends a dict to a deque (O(1), no lock) and wakes a sender only when a batch is full or the
queue was empty. Each sender thread takes up to a batch, finishes the events (id, timestamp, masking,
before_send), serialises each once, posts the batch gzip'd on its own keep-alive connection, and retries
what may be retried. Two senders keep two requests in flight.
"""

from __future__ import annotations

import collections
import random
import threading
import time

from footfall._config import Batching, Callbacks, QueueLimit, Retry, Stats
from footfall._encode import encoder
from footfall._errors import gave_up, refused
from footfall._ids import Clock, uuid7
from footfall._log import RateLimitedLog, logger
from footfall._mask import Masker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from footfall._spool import DiskSpool
    from footfall._transport import Answer, Transport

MAX_EVENT_BYTES = 32 * 1024  # the collector refuses larger properties: trim here, count it


class Pipeline:
    def __init__(
        self,
        *,
        write_key: str,
        host: str,
        batching: Batching,
        retry: Retry,
        queue: QueueLimit,
        callbacks: Callbacks,
        masker: Masker,
        context: dict[str, Any],
        senders: int,
        spool: DiskSpool | None,
        user_agent: str,
    ) -> None:
        self.write_key = write_key
        self.host = host
        self.batching = batching
        self.retry = retry
        self.queue_limit = queue
        self.callbacks = callbacks
        self.masker = masker
        self.context = context
        self.senders = senders
        self.spool = spool
        self.user_agent = user_agent
        self.logs = RateLimitedLog()
        self._reset()

    # -- per-process state (rebuilt in a forked child) --------------------------------------------

    def _reset(self) -> None:
        self.events: collections.deque[dict[str, Any]] = collections.deque()
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.space = threading.Condition(self.lock)
        self.idle = threading.Condition(self.lock)
        self.stats_lock = threading.Lock()
        self.stats = Stats()
        self.unreported_drops: dict[str, int] = {}
        self.avg_event_bytes = 400.0
        self.capacity = max(self.batching.max_events, int(self.queue_limit.max_bytes / self.avg_event_bytes))
        self.in_flight = 0  # batches being sent
        self.in_flight_events = 0
        self.flushing = 0
        self.stopping = False
        self.threads: list[threading.Thread] = []
        self.breaker_until = 0.0
        self.failures = 0
        self.probe = threading.Lock()
        self.started_pid = 0

    def after_fork_in_child(self) -> None:
        """Never send the parent's events from the child; start fresh, lazily."""
        self._reset()

    def start(self, pid: int) -> None:
        with self.lock:
            if self.started_pid == pid:
                return
            self.started_pid = pid
            self.threads = [
                threading.Thread(target=self._run, name=f"footfall-sender-{i}", daemon=True)
                for i in range(self.senders)
            ]
            for thread in self.threads:
                thread.start()
            if self.spool is not None:
                self._replay_spool_later()

    # -- the caller's side --------------------------------------------------------------------------

    def _measure(self, events: int, total_bytes: int) -> None:
        """Learn the average event size from what was sent; the queue's capacity in events follows."""
        self.avg_event_bytes = 0.9 * self.avg_event_bytes + 0.1 * (total_bytes / events)
        self.capacity = max(self.batching.max_events, int(self.queue_limit.max_bytes / self.avg_event_bytes))

    def put(self, event: dict[str, Any]) -> bool:
        events = self.events
        if len(events) >= self.capacity and not self._make_room():
            return False
        events.append(event)
        size = len(events)
        if size in (1, self.batching.max_events):
            with self.lock:
                self.wake.notify()
        return True

    def _make_room(self) -> bool:
        policy = self.queue_limit.policy
        if policy == "drop_oldest":
            try:
                self.events.popleft()
            except IndexError:
                return True
            self.drop("queue_full", 1)
            return True
        if policy == "block" and self.failures == 0:  # never make the app wait on a collector that is down
            deadline = time.monotonic() + self.queue_limit.block_timeout_s
            with self.lock:
                while len(self.events) >= self.capacity and not self.stopping:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self.space.wait(left):
                        break
            if len(self.events) < self.capacity:
                return True
        self.drop("queue_full", 1)
        return False

    def drop(self, reason: str, n: int) -> None:
        with self.stats_lock:
            self.stats.dropped[reason] = self.stats.dropped.get(reason, 0) + n
            self.unreported_drops[reason] = self.unreported_drops.get(reason, 0) + n
        self.logs.say("drop:" + reason, "footfall dropped events (%s); see client.stats()", reason)
        if self.callbacks.on_drop is not None:
            try:
                self.callbacks.on_drop(reason, n)
            except Exception:
                logger().debug("on_drop raised", exc_info=True)

    # -- flushing ------------------------------------------------------------------------------------

    def flush(self, timeout_s: float) -> bool:
        """Send everything queued now; True if it all went (or was given up) within the timeout."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            self.flushing += 1
            self.wake.notify_all()
            try:
                while self.events or self.in_flight:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self.threads:
                        return False
                    self.idle.wait(min(left, 0.05))
                    self.wake.notify_all()
                return True
            finally:
                self.flushing -= 1

    def stop(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self.lock:
            self.stopping = True
            self.wake.notify_all()
            self.space.notify_all()
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- the senders' side -----------------------------------------------------------------------------

    def _run(self) -> None:
        from footfall._transport import Transport  # the network stack loads here, not at import

        transport = Transport(self.host, timeout_s=self.retry.timeout_s, user_agent=self.user_agent)
        clock = Clock()
        try:
            while True:
                batch = self._take()
                if batch is None:
                    return
                try:
                    self._send(batch, transport, clock)
                except Exception as exc:
                    self._error(exc)
                    self.drop("internal_error", len(batch))
                finally:
                    with self.lock:
                        self.in_flight -= 1
                        self.in_flight_events -= len(batch)
                        self.idle.notify_all()
        finally:
            transport.close()

    def _take(self) -> list[dict[str, Any]] | None:
        with self.lock:
            while True:
                events = self.events
                if events:
                    age = time.monotonic() - events[0]["_m"]
                    if (
                        len(events) >= self.batching.max_events
                        or age >= self.batching.interval_s
                        or self.flushing
                        or self.stopping
                    ):
                        # A backlog goes out in bigger batches (the collector takes up to 1,000 events).
                        most = self.batching.max_events if len(events) < 4 * self.batching.max_events else 1000
                        n = min(len(events), most)
                        batch = [events.popleft() for _ in range(n)]
                        self.in_flight += 1
                        self.in_flight_events += n
                        self.space.notify_all()
                        return batch
                    timeout: float | None = self.batching.interval_s - age
                elif self.stopping:
                    return None
                else:
                    timeout = None
                self.wake.wait(timeout)

    def _send(self, batch: list[dict[str, Any]], transport: Transport, clock: Clock) -> None:
        now = time.monotonic()  # one reading: the events' ages keep the order and spacing of the calls
        encoded = [e for e in (self._finish(event, clock, now) for event in batch) if e is not None]
        if not encoded:
            return
        self._measure(len(encoded), sum(len(e) for e in encoded))
        for chunk in _chunks(encoded, self.batching.max_bytes - 1024):
            self._deliver(chunk, transport)

    def _finish(self, event: dict[str, Any], clock: Clock, now: float) -> bytes | None:
        """The queued dict made into the wire event, masked, passed through before_send, serialised once."""
        wall, mono, rand = event.pop("_t"), event.pop("_m"), event.pop("_r")
        stamp = event.pop("_ts", None)
        event["id"] = uuid7(wall, rand)
        event["ts"] = stamp if stamp is not None else clock.iso(wall)
        event["age_ms"] = max(0, int((now - mono) * 1000)) if stamp is None else None
        if event["age_ms"] is None:
            del event["age_ms"]
        for key in ("properties", "traits", "traits_once"):
            if key in event:
                event[key] = self.masker.mask(event[key])
        before = self.callbacks.before_send
        if before is not None:
            try:
                result = before(event)
            except Exception as exc:
                self._error(exc)
                result = event
            if result is None:
                self.drop("before_send", 1)
                return None
            event = result
        return self._serialise(event)

    def _serialise(self, event: dict[str, Any]) -> bytes:
        """One JSON text per event. Properties and traits are serialised and redacted on their own (the
        id and timestamp need no regex), then spliced in; too large, they give way to a marker."""
        encode = encoder()[0]
        keys = ("properties", "traits", "traits_once")
        parts = {k: self.masker.redact(encode(event.pop(k)), traits=k != "properties") for k in keys if k in event}
        size = sum(len(p) for p in parts.values())
        if size > MAX_EVENT_BYTES:
            parts = {key: b'{"$truncated_bytes":%d}' % size for key in parts}
            self.drop("truncated", 1)  # counted, but the event itself still goes
        data = encode(event)
        if parts:
            data = data[:-1] + b"".join(b',"%s":%s' % (key.encode(), part) for key, part in parts.items()) + b"}"
        return data

    def _deliver(self, events: list[bytes], transport: Transport) -> None:
        """Post one batch, retrying what may be retried within the budget; the same ids every time."""
        deadline = time.monotonic() + self.retry.budget_s
        delay = self.retry.base_s
        body = self._body(events)
        while True:
            answer = self._post_through_breaker(body, transport)
            if answer.status in (200, 202):
                self._delivered(events, answer)
                return
            if not answer.retryable:
                self._rejected(events, answer)
                return
            self._failed(answer)
            delay = min(self.retry.cap_s, random.uniform(self.retry.base_s, delay * 3))  # noqa: S311
            wait = max(delay, answer.retry_after_s or 0.0)
            if time.monotonic() + wait > deadline or (self.stopping and not self.flushing):
                self._give_up(events, body, answer)
                return
            with self.stats_lock:
                self.stats.retries += 1
            with self.lock:
                self.wake.wait_for(lambda: self.stopping and not self.flushing, timeout=wait)

    def _post_through_breaker(self, body: bytes, transport: Transport) -> Answer:
        if time.monotonic() < self.breaker_until:
            # The collector is failing: one thread probes it, the others wait for the probe's verdict.
            with self.probe:
                return transport.post(body, compress=self.batching.gzip)
        return transport.post(body, compress=self.batching.gzip)

    def _body(self, events: list[bytes]) -> bytes:
        with self.stats_lock:
            drops = dict(self.unreported_drops)
        context = dict(self.context)
        if drops:
            context["sdk_dropped"] = drops
        head = encoder()[0]({"key": self.write_key, "sent_at": Clock().iso(time.time()), "context": context})
        return head[:-1] + b',"events":[' + b",".join(events) + b"]}"

    def _delivered(self, events: list[bytes], answer: Answer) -> None:
        refusals = answer.refusals()
        rejected = sum(refusals.values())
        with self.stats_lock:
            self.stats.sent += len(events) - rejected
            self.stats.last_success_at = time.time()
            self.unreported_drops.clear()  # this batch's context carried them
            _add(self.stats.rejected, refusals)
        self.failures = 0
        self.breaker_until = 0.0
        if rejected:
            self.drop("rejected_by_collector", rejected)

    def _rejected(self, events: list[bytes], answer: Answer) -> None:
        """A refusal that sending again cannot change (an unknown write key, say): counted by the
        collector's reason, dropped, and told to on_error."""
        code = answer.code_and_detail()[0]
        refusals = answer.refusals() if code == "invalid_events" else {}
        with self.stats_lock:
            _add(self.stats.rejected, refusals or {code or f"http_{answer.status}": len(events)})
        self.drop("rejected_by_collector", len(events))
        self._error(refused(answer, len(events)), "refused")

    def _failed(self, answer: Answer) -> None:
        self.failures += 1
        message = answer.error or f"HTTP {answer.status}"
        with self.stats_lock:
            self.stats.last_error = message
        if self.failures >= 3:
            self.breaker_until = time.monotonic() + min(self.retry.cap_s, self.retry.base_s * 2**self.failures)
        self.logs.say("send", "footfall: the collector does not take events (%s); retrying", message)

    def _give_up(self, events: list[bytes], body: bytes, answer: Answer) -> None:
        spooled = self.spool is not None and self.spool.put(body)
        if spooled:
            with self.stats_lock:
                self.stats.spooled += len(events)
        else:
            self.drop("retry_budget" if not self.stopping else "shutdown", len(events))
        budget_s, stopping = self.retry.budget_s, self.stopping
        self._error(
            gave_up(self.host, answer, len(events), budget_s=budget_s, spooled=spooled, stopping=stopping), "gave_up"
        )

    def _error(self, exc: BaseException, kind: str = "error") -> None:
        with self.stats_lock:
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.logs.say(kind, "footfall: %s", exc)
        if self.callbacks.on_error is not None:
            try:
                self.callbacks.on_error(exc)
            except Exception:
                logger().debug("on_error raised", exc_info=True)

    def _replay_spool_later(self) -> None:
        spool = self.spool
        assert spool is not None

        def replay() -> None:
            from footfall._transport import Transport

            transport = Transport(self.host, timeout_s=self.retry.timeout_s, user_agent=self.user_agent)
            try:
                spool.drain(lambda body: transport.post(body, compress=self.batching.gzip), self.stopping_now)
            finally:
                transport.close()

        threading.Thread(target=replay, name="footfall-spool", daemon=True).start()

    def stopping_now(self) -> bool:
        return self.stopping

    def snapshot(self) -> Stats:
        with self.stats_lock:
            stats = self.stats.copy()
        stats.queued = len(self.events)
        stats.queued_bytes = int(stats.queued * self.avg_event_bytes)
        stats.in_flight = self.in_flight_events
        return stats


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for key, n in more.items():
        counts[key] = counts.get(key, 0) + n


def _chunks(events: list[bytes], max_bytes: int) -> list[list[bytes]]:
    chunks: list[list[bytes]] = [[]]
    size = 0
    for event in events:
        if chunks[-1] and size + len(event) > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += len(event) + 1
    return chunks
