"""Traffic for load tests and tests, built from the collector's wire types (collector/wire.py), so it
stays valid as the protocol grows and mypy checks every field.

* `Visitor`: one browser tab (anonymous and session ids, a real browser User-Agent, a screen);
* `browser_events`, `server_events`: events a tab's snippet or a backend SDK sends;
* `Payload`: one request (path with the query, headers, body) and how many events it carries:
  `json_batch` (fetch, application/json), `beacon` (sendBeacon: text/plain, the key in the query,
  optionally gzip as the snippet's CompressionStream makes it), `sdk_batch` (a server SDK: gzip JSON).

Every event id is a random UUID v4 (`random.Random` seeded from the OS unless a seed is given), so a
run's stored rows can be counted against what was acknowledged. Consent is given to every tier and
the User-Agents are browsers, so nothing is dropped by policy: each acknowledged event is stored.
"""

import gzip
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from collector import wire

ORIGIN: Final = "http://localhost:5173"  # a page on a development server; `footfall serve`'s default site allows it
BATCH_PATH: Final = "/v1/batch"
_SAFARI: Final = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1"
USER_AGENTS: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} Safari/605.1.15",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_SAFARI} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
)
SCREENS: Final = ((1920, 1080), (1440, 900), (390, 844), (1280, 720), (412, 915))
PAGES: Final = ("/", "/pricing", "/docs/getting-started", "/shop/products/a1", "/shop/cart", "/checkout")
SELECTORS: Final = ("main > button.buy", "nav > a.cart", "header > a.logo", "main > form > input", "footer > a.help")
TRACKS: Final = (
    ("signup", {"plan": "free"}),
    ("add_to_cart", {"sku": "A1", "price": 19.9}),
    ("purchase", {"revenue": 42.0}),
)
SDK_LIBRARY: Final = wire.Library(name="footfall-python", version="0.1.0")
SNIPPET_LIBRARY: Final = wire.Library(name="footfall-js", version="0.1.0")


@dataclass
class Visitor:
    rng: random.Random
    site: str = "http://localhost:5173"
    anonymous_id: str = ""
    session_id: str = ""
    user_agent: str = ""
    screen: tuple[int, int] = (1280, 720)
    doc_h: int = 3000

    def __post_init__(self) -> None:
        self.anonymous_id = self.anonymous_id or f"anon-{self.rng.getrandbits(64):016x}"
        self.session_id = self.session_id or f"sess-{self.rng.getrandbits(48):012x}"
        self.user_agent = self.user_agent or self.rng.choice(USER_AGENTS)
        self.screen = self.rng.choice(SCREENS)
        self.doc_h = self.screen[1] * self.rng.randint(2, 6)

    def event_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def url(self) -> str:
        return self.site + self.rng.choice(PAGES)


@dataclass(frozen=True)
class Payload:
    path: str
    headers: dict[str, str]
    body: bytes
    events: int
    ids: tuple[uuid.UUID, ...] = field(default=(), repr=False)


def browser_events(
    v: Visitor, count: int, now: datetime, kinds: Sequence[str] = ("click", "move", "scroll")
) -> list[wire.Event]:
    """`count` events of a tab: a pageview first, then the `kinds` in turn (and a track now and then)."""
    width, height = v.screen
    url = v.url()
    common: dict[str, Any] = {
        "anonymous_id": v.anonymous_id,
        "session_id": v.session_id,
        "url": url,
        "viewport_w": width,
    }
    made: list[wire.Event] = []
    for n in range(count):
        ts = now - timedelta(milliseconds=(count - n) * 50)
        kind = "pageview" if n == 0 else kinds[n % len(kinds)]
        if kind != "pageview" and v.rng.random() < 0.05:
            kind = "track"
        if kind == "pageview":
            made.append(
                wire.Pageview(id=v.event_id(), ts=ts, viewport_h=height, referrer="https://www.google.com/", **common)
            )
        elif kind == "click":
            made.append(
                wire.Click(
                    id=v.event_id(),
                    ts=ts,
                    x=v.rng.randrange(width),
                    y=v.rng.randrange(v.doc_h),
                    doc_w=width,
                    doc_h=v.doc_h,
                    selector=v.rng.choice(SELECTORS),
                    el_x=v.rng.randrange(120),
                    el_y=v.rng.randrange(40),
                    el_w=120,
                    el_h=40,
                    **common,
                )
            )
        elif kind == "move":
            points = [
                (v.rng.randrange(width) // 20 * 20, v.rng.randrange(v.doc_h) // 20 * 20, v.rng.randint(1, 5))
                for _ in range(8)
            ]
            made.append(wire.Move(id=v.event_id(), ts=ts, doc_w=width, doc_h=v.doc_h, points=points, **common))
        elif kind == "scroll":
            made.append(
                wire.Scroll(id=v.event_id(), ts=ts, depth=float(v.rng.randint(5, 100)), doc_h=v.doc_h, **common)
            )
        else:
            name, properties = v.rng.choice(TRACKS)
            made.append(wire.Track(id=v.event_id(), ts=ts, name=name, properties=properties, **common))
    return made


def server_events(v: Visitor, count: int, now: datetime) -> list[wire.Event]:
    """What a backend sends for its users: mostly track, some identify, each with the end user's context."""
    context = wire.EventContext(ip=f"203.0.113.{v.rng.randrange(1, 255)}", user_agent=v.user_agent)
    user = f"user-{v.rng.getrandbits(32):08x}"
    made: list[wire.Event] = []
    for n in range(count):
        ts = now - timedelta(milliseconds=(count - n) * 10)
        if v.rng.random() < 0.2:
            traits = {"plan": "pro", "seats": 5}
            made.append(
                wire.Identify(
                    id=v.event_id(), ts=ts, anonymous_id=v.anonymous_id, user_id=user, traits=traits, context=context
                )
            )
        else:
            name, properties = v.rng.choice(TRACKS)
            made.append(
                wire.Track(id=v.event_id(), ts=ts, user_id=user, name=name, properties=properties, context=context)
            )
    return made


def encode(events: Sequence[wire.Event], now: datetime, *, key: str | None, library: wire.Library) -> bytes:
    batch = wire.Batch(
        key=key,
        sent_at=now,
        context=wire.Context(library=library),
        events=[msgspec.Raw(msgspec.json.encode(e)) for e in events],
    )
    return msgspec.json.encode(batch)


def json_batch(v: Visitor, key: str, events: Sequence[wire.Event], now: datetime) -> Payload:
    """As the snippet's fetch sends a batch (with `offline`): JSON, the key in the body, from the page's origin."""
    headers = {"Content-Type": "application/json", "Origin": ORIGIN, "User-Agent": v.user_agent}
    body = encode(events, now, key=key, library=SNIPPET_LIBRARY)
    return Payload(BATCH_PATH, headers, body, len(events), tuple(e.id for e in events))


def beacon(v: Visitor, key: str, events: Sequence[wire.Event], now: datetime, *, compress: bool) -> Payload:
    """As sendBeacon sends one on pagehide: text/plain (no preflight), the key in the query, gzip without
    a Content-Encoding header when the browser has CompressionStream."""
    body = encode(events, now, key=None, library=SNIPPET_LIBRARY)
    headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN, "User-Agent": v.user_agent}
    body = gzip.compress(body, compresslevel=6) if compress else body
    return Payload(f"{BATCH_PATH}?key={key}", headers, body, len(events), tuple(e.id for e in events))


def sdk_batch(v: Visitor, key: str, events: Sequence[wire.Event], now: datetime) -> Payload:
    """As the Python SDK sends a batch: gzip JSON, no Origin, the SDK's own User-Agent."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "User-Agent": "footfall-python/0.1.0"}
    body = gzip.compress(encode(events, now, key=key, library=SDK_LIBRARY), compresslevel=1)
    return Payload(BATCH_PATH, headers, body, len(events), tuple(e.id for e in events))


def utcnow() -> datetime:
    return datetime.now(UTC)
