"""The client: the Segment verbs, consent checks, and a life that survives fork and exit."""

from __future__ import annotations

import atexit
import functools
import os
import sys
import time
import weakref

from footfall._config import Batching, Callbacks, Consent, Masking, QueueLimit, Retry, Spool, Stats, _Value
from footfall._errors import FootfallError, read_key_given
from footfall._ids import random_bits
from footfall._log import logger
from footfall._mask import Masker
from footfall._pipeline import Pipeline
from footfall._runtime import threads_unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable, TypeVar, Union

    R = TypeVar("R")
    V = TypeVar("V", bound=Callable[..., None])
    ConsentLike = Union[Consent, Mapping[str, bool], None]

HEATMAP_TYPES = frozenset({"click", "rageclick", "deadclick", "move", "scroll"})
_clients: weakref.WeakSet[Client] = weakref.WeakSet()  # for the fork hook: each live client resets


class FlushResult(_Value):
    """What flush() or shutdown() did: events the collector took during the call, events still queued
    or in flight when it returned, events dropped during it (all reasons), and of those the ones the
    collector refused, by its reason (`{"invalid_event": 2}`, `{"unknown_key": 100}`)."""

    __slots__ = ("dropped", "pending", "rejected", "sent")

    def __init__(self, sent: int, pending: int, dropped: int, rejected: Mapping[str, int] | None = None) -> None:
        self.sent = sent
        self.pending = pending
        self.dropped = dropped
        self.rejected = dict(rejected or {})


def _guarded(verb: V) -> V:
    """A verb never raises into the application (unless the client is strict): a bug or bad input is
    counted, told to on_error and logged at most once a minute."""

    @functools.wraps(verb)
    def call(self: Client, *args: Any, **kwargs: Any) -> None:
        try:
            verb(self, *args, **kwargs)
        except Exception as exc:
            self._failed(exc, None)

    return call  # type: ignore[return-value]


class Client:
    """Send events to a footfall collector from a backend app.

    Calls never raise and never block on the network (unless `sync_mode`, or a full queue with the
    "block" policy for at most `QueueLimit.block_timeout_s`). Events are batched and sent by two
    background threads; `flush()` and `shutdown()` always return within their timeout.
    """

    def __init__(
        self,
        write_key: str,
        *,
        host: str = "http://localhost:8000",
        batching: Batching = Batching(),
        retry: Retry = Retry(),
        queue: QueueLimit = QueueLimit(),
        masking: Masking = Masking(),
        consent: ConsentLike = None,
        callbacks: Callbacks = Callbacks(),
        spool: Spool | None = None,
        senders: int = 2,
        sync_mode: bool = False,
        strict: bool = False,
        send: bool = True,
        exit_timeout_s: float = 2.0,
    ) -> None:
        from footfall import __version__

        self.write_key = write_key
        self.strict = strict
        self.send = send
        self.exit_timeout_s = exit_timeout_s
        self._consent = _consent(consent)
        self._sync = sync_mode
        reason = None if sync_mode else threads_unavailable()
        if reason is not None:
            self._sync = True
            logger().warning("footfall: %s, so events are sent on the calling thread (sync mode)", reason)
        context = {
            "library": {"name": "footfall-python", "version": __version__},
            "consent": {"analytics": True, "heatmaps": True, "marketing": True},
        }
        self._pipeline = Pipeline(
            write_key=write_key,
            host=host,
            batching=batching,
            retry=retry,
            queue=queue,
            callbacks=callbacks,
            masker=Masker(masking),
            context=context,
            senders=max(1, senders),
            spool=_disk_spool(spool),
            user_agent=f"footfall-python/{__version__} (Python {sys.version.split()[0]})",
        )
        self._closed = False
        # A read key is secret, and the collector refuses it: it never goes on the wire.
        self._key_error = read_key_given(write_key)
        if self._key_error is not None:
            self._failed(self._key_error, None)  # told to on_error and logged (raised if strict)
        _clients.add(self)
        atexit.register(_exit_hook, weakref.ref(self))

    # -- the verbs ------------------------------------------------------------------------------------

    @_guarded
    def track(
        self,
        event: str,
        properties: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        timestamp: Any = None,
        context: Mapping[str, Any] | None = None,
        consent: ConsentLike = None,
    ) -> None:
        self._enqueue(
            "track",
            {"name": event, "properties": dict(properties) if properties else {}},
            user_id,
            anonymous_id,
            timestamp,
            context,
            consent,
        )

    @_guarded
    def identify(
        self,
        user_id: str,
        traits: Mapping[str, Any] | None = None,
        *,
        traits_once: Mapping[str, Any] | None = None,
        unset: Sequence[str] | None = None,
        anonymous_id: str | None = None,
        timestamp: Any = None,
        context: Mapping[str, Any] | None = None,
        consent: ConsentLike = None,
    ) -> None:
        """`traits` are set, `traits_once` set only where the user has no value yet (a first plan, a
        signup channel), `unset` removed: the collector applies them in event time."""
        fields = _trait_fields(traits, traits_once, unset)
        self._enqueue("identify", fields, user_id, anonymous_id, timestamp, context, consent)

    @_guarded
    def page(
        self,
        name: str | None = None,
        properties: Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        referrer: str | None = None,
        title: str | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        timestamp: Any = None,
        context: Mapping[str, Any] | None = None,
        consent: ConsentLike = None,
    ) -> None:
        fields: dict[str, Any] = {"properties": dict(properties) if properties else {}}
        for key, value in (("name", name), ("url", url), ("referrer", referrer), ("title", title)):
            if value is not None:
                fields[key] = value
        self._enqueue("pageview", fields, user_id, anonymous_id, timestamp, context, consent)

    @_guarded
    def group(
        self,
        group_id: str,
        traits: Mapping[str, Any] | None = None,
        *,
        traits_once: Mapping[str, Any] | None = None,
        unset: Sequence[str] | None = None,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        timestamp: Any = None,
        context: Mapping[str, Any] | None = None,
        consent: ConsentLike = None,
    ) -> None:
        self._enqueue(
            "group",
            {"group_id": group_id, **_trait_fields(traits, traits_once, unset)},
            user_id,
            anonymous_id,
            timestamp,
            context,
            consent,
        )

    @_guarded
    def alias(
        self,
        user_id: str,
        previous_id: str,
        *,
        timestamp: Any = None,
        context: Mapping[str, Any] | None = None,
        consent: ConsentLike = None,
    ) -> None:
        self._enqueue("alias", {"previous_id": previous_id}, user_id, None, timestamp, context, consent)

    # -- life ---------------------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> FlushResult:
        """Send what is queued now; returns within `timeout` seconds whatever the collector does."""
        try:
            before = self._pipeline.snapshot()
            self._pipeline.flush(timeout)
            return _result(before, self._pipeline.snapshot())
        except Exception as exc:
            return self._failed(exc, FlushResult(0, len(self._pipeline.events), 0))

    def shutdown(self, timeout: float = 10.0) -> FlushResult:
        """Flush, then stop the sender threads; later calls are dropped (reason "shutdown")."""
        try:
            deadline = time.monotonic() + timeout
            before = self._pipeline.snapshot()
            self._pipeline.flush(timeout)
            self._closed = True
            self._pipeline.stop(max(0.0, deadline - time.monotonic()))
            left = len(self._pipeline.events)
            if left:
                self._pipeline.events.clear()
                self._pipeline.drop("shutdown", left)
            return _result(before, self._pipeline.snapshot())
        except Exception as exc:
            return self._failed(exc, FlushResult(0, len(self._pipeline.events), 0))

    def stats(self) -> Stats:
        stats = self._pipeline.snapshot()
        stats.mode = "sync" if self._sync else "threads"
        return stats

    # -- internals ----------------------------------------------------------------------------------

    def _enqueue(  # noqa: PLR0917 - private, called by the verbs only
        self,
        kind: str,
        event: dict[str, Any],
        user_id: str | None,
        anonymous_id: str | None,
        timestamp: Any,
        context: Mapping[str, Any] | None,
        consent: ConsentLike,
    ) -> None:
        # Runs inside a verb, whose _guarded wrapper turns any exception into a counted error.
        if self._closed:
            self._pipeline.drop("shutdown", 1)
            return
        if self._key_error is not None:
            self._pipeline.drop("read_key_as_write_key", 1)
            return
        granted = self._consent if consent is None else _consent(consent, self._consent)
        if not (granted.heatmaps if kind in HEATMAP_TYPES else granted.analytics):
            self._pipeline.drop("no_consent", 1)  # never serialised, never sent
            return
        event["type"] = kind
        if user_id is not None:
            event["user_id"] = str(user_id)
        if anonymous_id is not None:
            event["anonymous_id"] = str(anonymous_id)
        event["_t"] = time.time()
        event["_m"] = time.monotonic()
        event["_r"] = random_bits()
        if timestamp is not None:
            event["_ts"] = timestamp
        own = _event_context(context, consent, granted)
        if own:
            event["context"] = own
        if not self.send:
            return
        pipeline = self._pipeline
        if pipeline.started_pid != os.getpid():
            pipeline.start(os.getpid())
        pipeline.put(event)
        if self._sync:
            pipeline.flush(pipeline.retry.timeout_s)

    def _failed(self, exc: BaseException, result: R) -> R:
        if self.strict:
            raise FootfallError(str(exc)) from exc
        self._pipeline._error(exc)
        return result

    def _after_fork(self) -> None:
        self._pipeline.after_fork_in_child()


def _disk_spool(spool: Spool | None) -> Any:
    if spool is None:
        return None
    from footfall._spool import DiskSpool

    return DiskSpool(spool.path, max_bytes=spool.max_bytes)


def _consent(value: ConsentLike, base: Consent = Consent()) -> Consent:
    if value is None:
        return base
    if isinstance(value, Consent):
        return value
    return Consent(
        analytics=bool(value.get("analytics", base.analytics)),
        heatmaps=bool(value.get("heatmaps", base.heatmaps)),
        marketing=bool(value.get("marketing", base.marketing)),
    )


def _event_context(context: Mapping[str, Any] | None, consent: ConsentLike, granted: Consent) -> dict[str, Any] | None:
    own: dict[str, Any] = {}
    if context:
        ip = context.get("ip")
        agent = context.get("user_agent", context.get("userAgent"))
        if ip:
            own["ip"] = str(ip)
        if agent:
            own["user_agent"] = str(agent)
    if consent is not None or not (granted.analytics and granted.heatmaps and granted.marketing):
        own["consent"] = {"analytics": granted.analytics, "heatmaps": granted.heatmaps, "marketing": granted.marketing}
    return own or None


def _result(before: Stats, after: Stats) -> FlushResult:
    dropped = sum(after.dropped.values()) - sum(before.dropped.values())
    rejected = {k: n - before.rejected.get(k, 0) for k, n in after.rejected.items() if n > before.rejected.get(k, 0)}
    return FlushResult(after.sent - before.sent, after.queued + after.in_flight, dropped, rejected)


def _exit_hook(ref: weakref.ref[Client]) -> None:
    client = ref()
    if client is not None and not client._closed and client._pipeline.threads:
        client.shutdown(client.exit_timeout_s)


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _trait_fields(
    traits: Mapping[str, Any] | None, once: Mapping[str, Any] | None, unset: Sequence[str] | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"traits": dict(traits) if traits else {}}
    if once:
        fields["traits_once"] = dict(once)
    if unset:
        fields["unset"] = [str(key) for key in unset]
    return fields
