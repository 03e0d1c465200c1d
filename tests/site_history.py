"""A small shop's last six weeks, as stored rows: visitors in sessions from referrers and campaigns,
countries, devices and browsers, signups and purchases in two currencies. Deterministic for a seed."""

import json
import random
import uuid
from datetime import datetime, timedelta

from collector.storage.rows import EventRow

PAGES = ("/", "/products/1", "/products/2", "/cart", "/checkout", "/pricing")
SOURCES = (
    ("", "", ""),
    ("www.google.com", "", ""),
    ("news.example", "newsletter", "email"),
    ("t.co", "twitter", "social"),
)
PLACES = (
    ("DE", "desktop", "Chrome", "Windows"),
    ("FR", "mobile", "Safari", "iOS"),
    ("US", "desktop", "Firefox", "Mac OS X"),
)


def history(site_id: int, now: datetime, *, people: int = 60, seed: int = 7) -> list[EventRow]:
    rng = random.Random(seed)
    rows: list[EventRow] = []
    for n in range(people):
        anonymous = f"anon-{n}"
        first = now - timedelta(days=rng.randrange(0, 42), hours=rng.randrange(1, 9))  # all in the past
        referrer, utm_source, utm_medium = SOURCES[n % len(SOURCES)]
        country, device, browser, os = PLACES[n % len(PLACES)]
        visits = 1 + (n % 4)
        for v in range(visits):
            start = first + timedelta(days=7 * v)
            if start > now:
                break
            session = f"s-{n}-{v}"
            views = 1 + rng.randrange(0, 4)
            for k in range(views):
                at = start + timedelta(seconds=40 * k)
                path = PAGES[(n + k) % len(PAGES)] if k else PAGES[n % 3]
                rows.append(
                    _row(
                        site_id,
                        anonymous,
                        session,
                        at,
                        "pageview",
                        "",
                        path,
                        referrer if k == 0 and v == 0 else "",
                        utm_source if v == 0 else "",
                        utm_medium if v == 0 else "",
                        country,
                        device,
                        browser,
                        os,
                    )
                )
            if v == 0 and n % 2 == 1:
                rows.append(
                    _row(
                        site_id,
                        anonymous,
                        session,
                        start + timedelta(minutes=3),
                        "track",
                        "signup",
                        "/signup",
                        "",
                        "",
                        "",
                        country,
                        device,
                        browser,
                        os,
                    )
                )
            if v >= 1 and n % 4 == 3:
                props = {"revenue": 10 + n, "currency": "EUR" if n % 8 == 3 else "USD"}
                rows.append(
                    _row(
                        site_id,
                        anonymous,
                        session,
                        start + timedelta(minutes=4),
                        "track",
                        "purchase",
                        "/checkout",
                        "",
                        "",
                        "",
                        country,
                        device,
                        browser,
                        os,
                        properties=json.dumps(props),
                    )
                )
    return rows


def _row(
    site_id: int,
    anonymous: str,
    session: str,
    at: datetime,
    kind: str,
    name: str,
    path: str,
    referrer: str,
    utm_source: str,
    utm_medium: str,
    country: str,
    device: str,
    browser: str,
    os: str,
    properties: str = "{}",
) -> EventRow:
    seconds = f"{at.timestamp():.3f}"
    return EventRow(
        site_id=site_id,
        event_id=str(uuid.uuid4()),
        type=kind,
        name=name,
        timestamp=seconds,
        client_ts=seconds,
        received_at=seconds,
        anonymous_id=anonymous,
        session_id=session,
        url=f"https://shop.example{path}",
        host="shop.example",
        path=path,
        page_key=f"shop.example{path}",
        referrer_host=referrer,
        referrer=f"https://{referrer}/" if referrer else "",
        utm_source=utm_source,
        utm_medium=utm_medium,
        country=country,
        device=device,
        browser=browser,
        os=os,
        properties=properties,
        width_bucket=1280,
    )
