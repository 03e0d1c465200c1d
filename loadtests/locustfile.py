"""Locust traffic for footfall's collector: browser tabs and backend SDKs posting to /v1/batch.

    FOOTFALL_WRITE_KEY=ffw_... locust -f loadtests/locustfile.py --host http://127.0.0.1:8000

* `BrowserTab` (9 in 10 users): a pageview by fetch, then interaction batches (clicks, mouse
  moves, scroll depth) by sendBeacon (text/plain, key in the query, gzip half of the time), then a
  beacon on leave; 1 to 20 events a request, a few seconds apart.
* `BackendSDK` (1 in 10): large gzip JSON batches of track and identify (100 to 200 events).

Environment: `FOOTFALL_WRITE_KEY` (required: the site's write key), `FOOTFALL_LOAD_BATCH` (every
request carries exactly this many events: the throughput runs use 1, 20 and 200), `FOOTFALL_LOAD_WAIT`
(seconds between a user's requests; 0 for a closed loop; default: a browser's pace), and
`FOOTFALL_LOAD_TALLY` (a file this process writes its totals to when the run stops, as JSON: events in
requests answered 202, and events acknowledged (`accepted` in the answers); loadtests/run.py reads it).

Anything but a 202 is a failure, with the status and the collector's error code.
"""

import json
import os
import random
from pathlib import Path
from typing import Any, Final

import payloads
from locust import FastHttpUser, between, constant, events, task
from locust.env import Environment

KEY: Final = os.environ.get("FOOTFALL_WRITE_KEY", "")
BATCH: Final = int(os.environ.get("FOOTFALL_LOAD_BATCH", "0") or 0)
WAIT: Final = os.environ.get("FOOTFALL_LOAD_WAIT", "")
TALLY_FILE: Final = os.environ.get("FOOTFALL_LOAD_TALLY", "")

tally = {"ok_events": 0, "acknowledged": 0}  # what Locust's own statistics do not know


def _check_key(environment: Environment, **_: Any) -> None:
    if not KEY:
        raise SystemExit("loadtests/locustfile.py: set FOOTFALL_WRITE_KEY to the site's write key (ffw_...)")


def _write_tally(environment: Environment, **_: Any) -> None:
    if TALLY_FILE:
        Path(TALLY_FILE).write_text(json.dumps(tally), encoding="utf-8")


events.init.add_listener(_check_key)  # type: ignore[no-untyped-call]  # locust leaves it untyped
events.test_stop.add_listener(_write_tally)  # type: ignore[no-untyped-call]


def _wait(default_low: float, default_high: float) -> Any:
    return constant(float(WAIT)) if WAIT else between(default_low, default_high)


class Poster(FastHttpUser):
    abstract = True

    def post(self, payload: payloads.Payload, name: str) -> None:
        with self.client.post(
            payload.path,
            data=payload.body,  # type: ignore[arg-type]  # bytes are sent as they are; the stub says str
            headers=payload.headers,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                try:
                    code = response.json().get("error", "")
                except Exception:  # an answer that is not JSON is reported by its status alone
                    code = ""
                response.failure(f"{response.status_code} {code}".strip())
                return
            tally["ok_events"] += payload.events
            tally["acknowledged"] += int(response.json().get("accepted", 0))


class BrowserTab(Poster):
    weight = 9
    wait_time = _wait(1.0, 5.0)

    def on_start(self) -> None:
        self.visitor = payloads.Visitor(random.Random())
        now = payloads.utcnow()
        events = payloads.browser_events(self.visitor, BATCH or 1, now)
        self.post(payloads.json_batch(self.visitor, KEY, events, now), "pageview (fetch)")

    @task(6)
    def interactions(self) -> None:
        now = payloads.utcnow()
        count = BATCH or self.visitor.rng.randint(1, 20)
        events = payloads.browser_events(self.visitor, count, now)
        compress = self.visitor.rng.random() < 0.5
        self.post(payloads.beacon(self.visitor, KEY, events, now, compress=compress), "interactions (beacon)")

    @task(1)
    def leave(self) -> None:
        now = payloads.utcnow()
        events = payloads.browser_events(self.visitor, BATCH or 2, now, kinds=("scroll",))
        self.post(payloads.beacon(self.visitor, KEY, events, now, compress=False), "leave (beacon)")
        self.visitor = payloads.Visitor(random.Random())  # the next page view is another tab


class BackendSDK(Poster):
    weight = 1
    wait_time = _wait(0.5, 2.0)

    def on_start(self) -> None:
        self.visitor = payloads.Visitor(random.Random())

    @task
    def batch(self) -> None:
        now = payloads.utcnow()
        count = BATCH or self.visitor.rng.randint(100, 200)
        self.post(
            payloads.sdk_batch(self.visitor, KEY, payloads.server_events(self.visitor, count, now), now),
            "sdk batch (gzip)",
        )
