"""The people API over HTTP on a real collector: what a backend sends through the Python SDK (traits,
set once, unset, orders under the site's own property names) comes back as a profile, a list, a CSV
and a paged timeline; bad requests are clear 4xx answers."""

import csv
import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import footfall
import httpx
import pytest
from support import NOW, NOW_MS, serve, wait_until

from collector.server.app import create_app
from collector.settings import Settings
from collector.storage.site_registry import Sites
from collector.storage.store_chdb import ChdbStore


class Served:
    def __init__(self, url: str, write_key: str, read_key: str) -> None:
        self.url, self.write_key = url, write_key
        self.http = httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {read_key}"})

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def served(store: ChdbStore, settings: Settings) -> Iterator[Served]:
    sites = Sites(store)
    keys = sites.add("shop", ["https://shop.example"])
    assert keys.read_key
    # The shop's events call an order's amount `total` and its currency `cur`; phone numbers are hashed.
    sites.configure("shop", {"people.revenue_property": "total", "people.currency_property": "cur"})
    sites.configure("shop", {"people.hash_traits": ["phone"]})
    app = create_app(settings, store=store, now_ms=lambda: NOW_MS)
    with serve(app) as url:
        served = Served(url, keys.write_key, keys.read_key)
        try:
            yield served
        finally:
            served.http.close()


def _send(served: Served) -> None:
    client = footfall.Client(served.write_key, host=served.url)
    at = [NOW - timedelta(days=d) for d in (9, 8, 7, 3, 2, 1)]
    client.page("home", url="https://shop.example/?utm_source=newsletter", anonymous_id="laptop", timestamp=at[0])
    client.identify(
        "jo",
        {"email": "jo@example.com", "plan": "free", "phone": "+44 20 7946 0958", "trial": True},
        traits_once={"signup_channel": "newsletter"},
        anonymous_id="laptop",
        timestamp=at[1],
    )
    client.track("order_completed", {"total": "19.90", "cur": "eur"}, user_id="jo", timestamp=at[2])
    client.identify("jo", {"plan": "pro"}, traits_once={"signup_channel": "ads"}, unset=["trial"], timestamp=at[3])
    client.group("acme", {"seats": 12}, user_id="jo", timestamp=at[4])
    client.track("order_completed", {"total": 5, "cur": "USD"}, user_id="jo", timestamp=at[5])
    client.identify("jo", {"plan": "enterprise"}, timestamp=at[0] + timedelta(hours=1))  # late, older than "pro": loses
    for n in range(3):
        client.page(url=f"https://shop.example/p/{n}", anonymous_id=f"visitor-{n}", timestamp=at[n])
    result = client.shutdown(timeout=10)
    assert (result.pending, result.dropped, result.rejected) == (0, 0, {}), result


def test_a_backend_customer_comes_back_as_a_profile_a_list_row_and_a_csv_line(served: Served) -> None:
    _send(served)
    wait_until(lambda: served.http.get("/api/v1/people/jo").status_code == 200, what="jo's profile")

    def complete() -> bool:
        found = served.get("/api/v1/people/laptop")
        return (
            len(found["transactions"]) == 2 and len(found["groups"]) == 1 and found["traits"]["plan"]["value"] == "pro"
        )

    wait_until(complete, what="jo's whole history")
    jo = served.get("/api/v1/people/laptop")  # any of the person's ids
    assert jo["site"] == "shop"
    assert (jo["person"], jo["identities"]["user_id"], jo["identities"]["anonymous_ids"]) == ("jo", "jo", ["laptop"])
    assert jo["first_touch"]["utm_source"] == "newsletter"
    traits = {k: t["value"] for k, t in jo["traits"].items()}
    assert traits == {
        "email": "jo@example.com",  # who the customer is survives the privacy defaults
        "plan": "pro",
        "phone": "sha256:" + hashlib.sha256(b"+44 20 7946 0958").hexdigest(),
        "signup_channel": "newsletter",
    }
    assert [(m["currency"], m["orders"], m["revenue"]) for m in jo["transactions"]] == [
        ("EUR", 1, 19.9),
        ("USD", 1, 5.0),
    ]
    # Times are the events' own, placed on the collector's clock (the app's is pinned, the SDK's is real).
    assert [(g["group_id"], g["traits"]["seats"]["value"]) for g in jo["groups"]] == [("acme", 12)]
    assert jo["activity"]["events"] == 7
    assert jo["traits"]["plan"]["set_at"] > jo["traits"]["email"]["set_at"] > jo["first_seen"]

    listed = served.get("/api/v1/people", **{"trait.plan": "pro", "traits": "email,plan", "sort": "revenue"})
    assert listed["currency"] == "EUR"  # the site's most used
    assert [(p["person"], p["revenue"], p["traits"]) for p in listed["people"]] == [
        ("jo", 19.9, {"email": "jo@example.com", "plan": "pro"})
    ]
    everyone = served.get("/api/v1/people", limit=2)
    assert everyone["count"] == 2
    assert everyone["next_cursor"]
    rest = served.get("/api/v1/people", limit=2, cursor=everyone["next_cursor"])
    people = [p["person"] for p in everyone["people"] + rest["people"]]
    assert sorted(people) == ["jo", "visitor-0", "visitor-1", "visitor-2"]
    assert rest["next_cursor"] is None
    assert served.get("/api/v1/people", not_did="order_completed")["count"] == 3

    sheet = served.http.get("/api/v1/people", params={"format": "csv", "traits": "email", "did": "order_completed"})
    assert sheet.headers["content-type"].startswith("text/csv")
    header, line = list(csv.reader(io.StringIO(sheet.text)))
    assert header[-2:] == ["revenue_EUR", "trait_email"]
    assert line[-2:] == ["19.9", "jo@example.com"]

    first = served.get("/api/v1/people/jo/timeline", limit=4)
    second = served.get("/api/v1/people/jo/timeline", limit=4, cursor=first["next_cursor"])
    assert [e["at"] for e in first["events"] + second["events"]] == sorted(
        (e["at"] for e in first["events"] + second["events"]), reverse=True
    )
    assert len(first["events"] + second["events"]) == 7
    assert second["next_cursor"] is None


def test_people_requests_get_clear_refusals(served: Served) -> None:
    cases = {
        "/api/v1/people/nobody": (404, "not_found"),
        "/api/v1/people?sort=score": (422, "invalid_parameter"),
        "/api/v1/people?cursor=xyz": (422, "invalid_parameter"),
        "/api/v1/people/jo/timeline?limit=0": (422, "invalid_parameter"),
        "/api/v1/people/jo/timeline?cursor=%00": (422, "invalid_parameter"),
    }
    for path, (status, code) in cases.items():
        response = served.http.get(path)
        assert (response.status_code, response.json()["error"]) == (status, code), (path, response.text)
    assert httpx.get(f"{served.url}/api/v1/people").status_code == 401
    spec = served.get("/api/v1/openapi.json")
    profile_schema = spec["paths"]["/api/v1/people/{person_id}"]["get"]["responses"]["200"]["content"]
    assert profile_schema["application/json"]["schema"]["allOf"][1] == {"$ref": "#/components/schemas/Profile"}
    assert "transactions" in spec["components"]["schemas"]["Profile"]["properties"]
