"""The knobs, grouped in small value objects, with the units in their names.

Plain classes rather than dataclasses: importing footfall must stay cheap (dataclasses and typing
cost more at import than the whole SDK).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from re import Pattern
    from typing import Any, Literal

    DropPolicy = Literal["block", "drop_oldest", "drop_newest"]
    BeforeSend = Callable[[dict[str, Any]], dict[str, Any] | None]
    OnDrop = Callable[[str, int], None]
    OnError = Callable[[BaseException], None]


class _Value:
    """Immutable after __init__, compared and printed by its fields."""

    __slots__: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"{type(self).__name__} is immutable; make a new one")
        object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(repr(getattr(self, s)) for s in self.__slots__))

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Batching(_Value):
    """A batch goes out when it holds `max_events` events or `max_bytes` bytes, or its first event is
    `interval_s` old, whichever comes first. The collector takes up to 1,000 events and 1 MiB a request."""

    __slots__ = ("gzip", "interval_s", "max_bytes", "max_events")

    def __init__(
        self, *, max_events: int = 100, max_bytes: int = 512 * 1024, interval_s: float = 1.0, gzip: bool = True
    ) -> None:
        self.max_events = max(1, min(max_events, 1000))
        self.max_bytes = max(16 * 1024, min(max_bytes, 1024 * 1024))
        self.interval_s = interval_s
        self.gzip = gzip


class Retry(_Value):
    """Network errors, 408, 429 and 5xx are retried with the same event ids (the collector stores each
    once), with decorrelated jitter between `base_s` and `cap_s`, honouring Retry-After as a minimum,
    for at most `budget_s` per batch. While the collector keeps failing, one request probes it and the
    others wait (circuit breaker)."""

    __slots__ = ("base_s", "budget_s", "cap_s", "timeout_s")

    def __init__(
        self, *, budget_s: float = 600.0, base_s: float = 0.5, cap_s: float = 30.0, timeout_s: float = 10.0
    ) -> None:
        self.budget_s = budget_s
        self.base_s = base_s
        self.cap_s = cap_s
        self.timeout_s = timeout_s  # per HTTP request


class QueueLimit(_Value):
    """How much may wait in memory (measured as encoded JSON), and what a full queue does:
    "block" waits up to `block_timeout_s` for room (never while the collector is down), then drops the
    new event; "drop_oldest" / "drop_newest" drop at once. Every drop is counted in stats(), reported to
    the collector with the next batch and passed to on_drop."""

    __slots__ = ("block_timeout_s", "max_bytes", "policy")

    def __init__(
        self, *, max_bytes: int = 8 * 1024 * 1024, policy: DropPolicy = "block", block_timeout_s: float = 0.5
    ) -> None:
        if policy not in ("block", "drop_oldest", "drop_newest"):
            raise ValueError(f"footfall: policy must be block, drop_oldest or drop_newest, not {policy!r}")
        self.max_bytes = max_bytes
        self.policy = policy
        self.block_timeout_s = block_timeout_s


DENY_KEYS = ("password", "passwd", "secret", "token", "access_token", "api_key", "authorization")


class Masking(_Value):
    """What never leaves the process: keys dropped at any depth (`deny_keys`, case-insensitive; with
    `allow_keys`, every top-level key not listed), e-mails, card numbers and phone numbers in strings
    redacted, `extra_patterns` redacted, and `hash_keys` replaced by a salted SHA-256 (so they still join).
    Traits (identify, group) say who the user is: their e-mails and phone numbers are kept unless
    `redact_traits`; card numbers never are."""

    __slots__ = ("allow_keys", "deny_keys", "extra_patterns", "hash_keys", "hash_salt", "redact", "redact_traits")

    def __init__(
        self,
        *,
        deny_keys: Sequence[str] = (
            "password",
            "passwd",
            "secret",
            "token",
            "access_token",
            "api_key",
            "authorization",
        ),
        allow_keys: Sequence[str] | None = None,
        redact: bool = True,
        extra_patterns: Sequence[Pattern[str]] = (),
        hash_keys: Sequence[str] = (),
        hash_salt: str = "",
        redact_traits: bool = False,
    ) -> None:
        self.deny_keys = tuple(deny_keys)
        self.redact_traits = redact_traits
        self.allow_keys = tuple(allow_keys) if allow_keys is not None else None
        self.redact = redact
        self.extra_patterns = tuple(extra_patterns)
        self.hash_keys = tuple(hash_keys)
        self.hash_salt = hash_salt


class Consent(_Value):
    """What the end user agreed to; heatmap-type events need `heatmaps`, the others `analytics`."""

    __slots__ = ("analytics", "heatmaps", "marketing")

    def __init__(self, *, analytics: bool = True, heatmaps: bool = True, marketing: bool = True) -> None:
        self.analytics = analytics
        self.heatmaps = heatmaps
        self.marketing = marketing


class Spool(_Value):
    """Batches that cannot be delivered within the retry budget (or at shutdown) are written to `path`,
    at most `max_bytes`, and sent first when the collector answers again, also after a restart."""

    __slots__ = ("max_bytes", "path")

    def __init__(self, path: str, *, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes


class Callbacks(_Value):
    """`before_send(event)` runs on the sender thread and may return a changed event or None (drop);
    `on_drop(reason, events)` and `on_error(exception)` are told what went wrong. All are optional.
    on_error gets a DeliveryError once per batch given up, as Segment's and PostHog's SDKs do: refused
    (an unknown write key: not retried), or not delivered within the retry budget or by shutdown; a
    read key given as the write key is told at once. It also gets bugs and bad input in a call.
    Failed attempts that are still retried show in stats() (`retries`, `last_error`) only."""

    __slots__ = ("before_send", "on_drop", "on_error")

    def __init__(
        self,
        *,
        before_send: BeforeSend | None = None,
        on_drop: OnDrop | None = None,
        on_error: OnError | None = None,
    ) -> None:
        self.before_send = before_send
        self.on_drop = on_drop
        self.on_error = on_error


class Stats:
    """A snapshot of the client's health (client.stats())."""

    __slots__ = (
        "dropped",
        "in_flight",
        "last_error",
        "last_success_at",
        "mode",
        "queued",
        "queued_bytes",
        "rejected",
        "retries",
        "sent",
        "spooled",
    )

    def __init__(self) -> None:
        self.queued = 0
        self.queued_bytes = 0
        self.in_flight = 0
        self.sent = 0
        self.retries = 0
        self.spooled = 0  # written to the disk spool, to be sent later
        self.dropped: dict[str, int] = {}  # reason -> events
        # events the collector refused (also in dropped["rejected_by_collector"]), by its reason:
        # invalid_event, timestamp_out_of_range, ... per event, or unknown_key, ... for a whole batch
        self.rejected: dict[str, int] = {}
        self.last_error: str | None = None
        self.last_success_at: float | None = None  # time.time()
        self.mode = "threads"

    def copy(self) -> Stats:
        other = Stats()
        for name in self.__slots__:
            object.__setattr__(other, name, getattr(self, name))
        other.dropped = dict(self.dropped)
        other.rejected = dict(self.rejected)
        return other

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in sorted(self.__slots__))
        return f"Stats({fields})"
