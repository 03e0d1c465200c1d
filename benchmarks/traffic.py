"""What the benchmark sends: visitors with real browser user agents and addresses a GeoIP file knows.

* `USER_AGENTS`: 36 real browser UA strings (desktop and mobile; Chrome, Edge, Firefox, Safari and a
  few others), weighted roughly like real traffic: a handful of them make most requests;
* `NETWORKS` and `write_geo_db`: a small GeoLite2-City-shaped .mmdb (mmdb-writer, as tests/geodb.py)
  covering every address a visitor gets, so every GeoIP lookup finds a city;
* `make_visitor`, `make_body`: one browser tab's batch (pageviews, clicks, scrolls, custom events; sent
  with Origin, User-Agent and X-Forwarded-For), or a server SDK's batch (track and identify events that
  forward the end user's `context.ip` and `context.user_agent`);
* `write_salts`: a salts snapshot holding today's salt, for an `Enricher` without a store.
"""

import ipaddress
import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import msgspec
from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

ORIGIN: Final = "http://localhost:5173"  # a browser page; the default site allows http://localhost:*
SERVER_AGENT: Final = "footfall-python/0.1.0 python-httpx/0.28.1"  # a server SDK's own UA: not the visitor's
HEATMAP_REFUSERS: Final = 0.05  # share of browser visitors who refuse the heatmaps consent tier

# -- user agents --------------------------------------------------------------------------------

_WIN: Final = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
_MAC: Final = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
_WEBKIT: Final = "AppleWebKit/537.36 (KHTML, like Gecko)"
_IOS_WEBKIT: Final = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_ANDROID: Final = "Mozilla/5.0 (Linux; Android 10; K)"

# Most frequent first; weights fall off like a Zipf law (see UA_WEIGHTS).
USER_AGENTS: Final = (
    f"{_WIN} {_WEBKIT} Chrome/131.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_IOS_WEBKIT} Version/18.1 Mobile/15E148 Safari/604.1",
    f"{_ANDROID} {_WEBKIT} Chrome/131.0.0.0 Mobile Safari/537.36",
    f"{_MAC} {_WEBKIT} Chrome/131.0.0.0 Safari/537.36",
    f"{_WIN} {_WEBKIT} Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    f"{_MAC} {_IOS_WEBKIT} Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    f"{_WIN} {_WEBKIT} Chrome/130.0.0.0 Safari/537.36",
    f"{_ANDROID} {_WEBKIT} Chrome/130.0.0.0 Mobile Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) {_IOS_WEBKIT} Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
    f"{_IOS_WEBKIT} CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    f"{_MAC} {_WEBKIT} Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S911B) "
    f"{_WEBKIT} SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    f"{_WIN} {_WEBKIT} Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    f"Mozilla/5.0 (X11; Linux x86_64) {_WEBKIT} Chrome/131.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {_WEBKIT} Chrome/131.0.6778.81 Mobile Safari/537.36",
    f"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) {_IOS_WEBKIT} Version/17.6 Mobile/15E148 Safari/604.1",
    f"{_MAC} {_IOS_WEBKIT} Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    f"Mozilla/5.0 (Linux; Android 14; SM-S918B) {_WEBKIT} Chrome/130.0.6723.107 Mobile Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) {_IOS_WEBKIT} Version/18.0 Mobile/15E148 Safari/604.1",
    f"{_MAC} {_WEBKIT} Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    f"{_WIN} {_WEBKIT} Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
    f"{_ANDROID} {_WEBKIT} Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) {_IOS_WEBKIT} FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
    f"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) {_WEBKIT} Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    f"{_WIN} {_WEBKIT} Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
    f"Mozilla/5.0 (Linux; Android 13; SM-X710) {_WEBKIT} Chrome/131.0.0.0 Safari/537.36",
    f"{_WIN} {_WEBKIT} Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    f"Mozilla/5.0 (Windows NT 6.1; Win64; x64) {_WEBKIT} Chrome/109.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_10 like Mac OS X) {_IOS_WEBKIT} Version/16.6 Mobile/15E148 Safari/604.1",
)
UA_WEIGHTS: Final = tuple(1 / (rank + 1) ** 1.1 for rank in range(len(USER_AGENTS)))


def screens_for(ua: str) -> tuple[tuple[int, int], ...]:
    if "iPad" in ua or "SM-X" in ua:
        return ((820, 1180), (1024, 1366))
    if "Mobile" in ua:
        return ((390, 844), (393, 852), (412, 915), (360, 800))
    return ((1920, 1080), (1536, 864), (1440, 900), (1280, 800), (2560, 1440))


# -- GeoIP ----------------------------------------------------------------------------------------

# (network, country, subdivision ISO code or "", subdivision English name, city). Public addresses
# (private and documentation ranges are never looked up); no traffic goes to them, they only appear in
# X-Forwarded-For and context.ip.
NETWORKS: Final = (
    ("81.2.69.0/24", "GB", "ENG", "England", "London"),
    ("2.125.160.0/24", "GB", "ENG", "England", "Boxford"),
    ("216.160.83.0/24", "US", "WA", "Washington", "Milton"),
    ("67.43.156.0/24", "US", "CA", "California", "San Francisco"),
    ("149.101.100.0/24", "US", "NY", "New York", "New York"),
    ("50.114.0.0/24", "US", "TX", "Texas", "Austin"),
    ("89.160.20.0/24", "SE", "E", "Östergötland", "Linköping"),
    ("91.198.174.0/24", "NL", "", "North Holland", "Amsterdam"),
    ("5.1.0.0/16", "FR", "IDF", "Île-de-France", "Paris"),
    ("62.30.0.0/16", "DE", "BE", "Berlin", "Berlin"),
    ("80.187.0.0/16", "DE", "BY", "Bavaria", "Munich"),
    ("175.16.199.0/24", "CN", "22", "Jilin Sheng", "Changchun"),
    ("202.196.224.0/24", "PH", "", "Metro Manila", "Manila"),
    ("187.72.0.0/16", "BR", "SP", "São Paulo", "São Paulo"),
    ("126.0.0.0/16", "JP", "13", "Tokyo", "Tokyo"),
    ("2a02:8100::/32", "DE", "BE", "Berlin", "Berlin"),
    ("2600:1f00::/24", "US", "CA", "California", "San Francisco"),
    ("2001:4860::/32", "US", "CA", "California", "Mountain View"),
)
IPV6_SHARE: Final = 0.15
LANGUAGES: Final = ("de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN")


def _names(name: str) -> dict[str, str]:
    return dict.fromkeys(LANGUAGES, name)


def city_record(country: str, region_code: str, region: str, city: str) -> dict[str, object]:
    """A record shaped like GeoLite2 City's (names in several languages, ids, location)."""
    subdivision: dict[str, object] = {"geoname_id": 3, "names": _names(region)}
    if region_code:
        subdivision["iso_code"] = region_code
    return {
        "continent": {"code": "EU", "geoname_id": 6255148, "names": _names("Europe")},
        "country": {"geoname_id": 1, "iso_code": country, "names": _names(country)},
        "registered_country": {"geoname_id": 1, "iso_code": country, "names": _names(country)},
        "subdivisions": [subdivision],
        "city": {"geoname_id": 2, "names": _names(city)},
        "location": {"accuracy_radius": 20, "latitude": 51.5, "longitude": -0.1, "time_zone": "Europe/London"},
    }


def write_geo_db(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    for network, country, region_code, region, city in NETWORKS:
        writer.insert_network(IPSet([network]), city_record(country, region_code, region, city))
    writer.to_db_file(str(path))
    return path


def random_address(rng: random.Random) -> str:
    v6 = rng.random() < IPV6_SHARE
    choices = [n for n in NETWORKS if (":" in n[0]) == v6]
    network = ipaddress.ip_network(rng.choice(choices)[0])
    host = rng.randrange(1, min(network.num_addresses - 1, 1 << 32))
    return str(network.network_address + host)


# -- salts ----------------------------------------------------------------------------------------


def write_salts(path: Path) -> Path:
    """A snapshot file with a salt for today (UTC), as the main process publishes it for edge processes."""
    path.write_bytes(msgspec.json.encode({datetime.now(UTC).date().isoformat(): secrets.token_hex(16)}))
    return path


# -- visitors and their batches -------------------------------------------------------------------

PAGES: Final = (
    "https://shop.example/",
    "https://shop.example/pricing",
    "https://shop.example/docs/getting-started#install",
    "https://shop.example/blog/clickhouse-at-scale",
    "https://shop.example/product/a1?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale",
    "https://shop.example/search?q=running+shoes&page=2",
    "https://shop.example/account/orders/100234567",  # an id in the path: scrubbed to :id
    "https://shop.example/checkout/done?order=100234567&email=jane.doe%40example.com",  # PII in the query
)
REFERRERS: Final = ("https://www.google.com/", "https://news.ycombinator.com/", "https://t.co/x1y2z3", "", "")
TITLES: Final = ("Shop", "Pricing", "Getting started", "ClickHouse at scale", "Product A1", "Search", "Order", "Done")
SELECTORS: Final = (
    "main > section.hero > a.cta",
    "nav > ul > li:nth-child(3) > a",
    "#add-to-cart",
    "form#signup input[type=email]",
    "footer a.privacy",
)
TRACKS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("add_to_cart", {"sku": "A1", "price": 19.99, "qty": 1, "currency": "EUR"}),
    ("signup", {"plan": "pro", "trial": True, "email": "jane.doe@example.com"}),  # a denied key: scrubbed
    ("search", {"query": "running shoes", "results": 42}),
    ("video_play", {"video": "intro", "position_s": 0}),
)
KINDS: Final = ("click", "pageview", "scroll", "track")
HEATMAP_TYPES: Final = frozenset({"click", "rageclick", "deadclick", "move", "scroll"})  # need heatmaps consent
WEIGHTS: Final = (40, 20, 25, 15)


@dataclass(frozen=True)
class Visitor:
    anonymous_id: str
    session_id: str
    user_agent: str
    ip: str
    screen: tuple[int, int]
    heatmaps: bool  # consent to the heatmaps tier (click and scroll events are dropped without it)
    server: bool  # sent by a server SDK on the visitor's behalf, not by their browser

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The request headers besides Host, Content-Type and Content-Length."""
        if self.server:
            return (("User-Agent", SERVER_AGENT),)
        return (("Origin", ORIGIN), ("User-Agent", self.user_agent), ("X-Forwarded-For", self.ip))


def make_visitor(rng: random.Random, *, server: bool) -> Visitor:
    ua = rng.choices(USER_AGENTS, UA_WEIGHTS)[0]
    return Visitor(
        anonymous_id=f"anon-{rng.getrandbits(64):016x}",
        session_id=f"sess-{rng.getrandbits(48):012x}",
        user_agent=ua,
        ip=random_address(rng),
        screen=rng.choice(screens_for(ua)),
        heatmaps=server or rng.random() >= HEATMAP_REFUSERS,
        server=server,
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_id(rng: random.Random) -> str:
    """A random UUIDv4 whose first 8 hex digits are zero: loadgen.RequestPool rewrites them per pass."""
    return "00000000" + str(uuid.UUID(int=rng.getrandbits(128), version=4))[8:]


def browser_event(rng: random.Random, now: datetime, visitor: Visitor) -> dict[str, Any]:
    kind = rng.choices(KINDS, WEIGHTS)[0]
    page = rng.randrange(len(PAGES))
    width, height = visitor.screen
    doc_h = height * rng.randint(2, 8)
    base: dict[str, Any] = {
        "id": event_id(rng),
        "type": kind,
        "ts": iso(now - timedelta(milliseconds=rng.randint(0, 60_000))),
        "anonymous_id": visitor.anonymous_id,
        "session_id": visitor.session_id,
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


def server_event(rng: random.Random, now: datetime, visitor: Visitor) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": event_id(rng),
        "ts": iso(now - timedelta(milliseconds=rng.randint(0, 5_000))),
        "anonymous_id": visitor.anonymous_id,
        "user_id": f"user-{visitor.anonymous_id[-6:]}",
    }
    if rng.random() < 0.2:
        return base | {"type": "identify", "traits": {"plan": "pro", "email": "jane.doe@example.com", "seats": 5}}
    name, properties = rng.choice(TRACKS)
    return base | {"type": "track", "name": name, "properties": properties}


def make_body(rng: random.Random, key: str, events: int, now: datetime, visitor: Visitor) -> tuple[bytes, int]:
    """One batch, a browser tab's (one visitor and session, mixed events) or a server SDK's, and how many
    of its events the collector stores (the others are dropped for want of consent, counted as accepted)."""
    if visitor.server:
        context: dict[str, Any] = {
            "library": {"name": "footfall-python", "version": "0.1.0"},
            "ip": visitor.ip,
            "user_agent": visitor.user_agent,
        }
        made = [server_event(rng, now, visitor) for _ in range(events)]
    else:
        context = {
            "library": {"name": "footfall-js", "version": "0.1.0"},
            "consent": {"analytics": True, "heatmaps": visitor.heatmaps, "marketing": False},
        }
        made = [browser_event(rng, now, visitor) for _ in range(events)]
    stored = sum(1 for e in made if visitor.heatmaps or e["type"] not in HEATMAP_TYPES)
    return msgspec.json.encode({"key": key, "sent_at": iso(now), "context": context, "events": made}), stored
