"""One SDK's burst, run by benchmarks/python_sdk.py in a fresh process of the benchmark venv.

Not imported by anything in the project venv (the peer SDKs live only in the benchmark venv): SDKs are
loaded with importlib, so this file type-checks without them. Standard library only.

    <bench venv>/bin/python -I benchmarks/sdk_worker.py run '{"sdk": "posthog", "url": "...", ...}'
    <bench venv>/bin/python -I benchmarks/sdk_worker.py deps footfall posthog ...

`run`: create the client with its defaults (only the endpoint changed), make `events` calls back to back,
each with a fresh ~10-key properties dict built outside the timed region and only the SDK call between two
perf_counter_ns() reads, then the SDK's own shutdown/flush; writes a JSON summary to `out`.
`deps`: the runtime dependency closure of each distribution (Requires-Dist without extras, markers
evaluated for this interpreter), as JSON on stdout.
"""

from __future__ import annotations

import bisect
import datetime as dt
import importlib
import importlib.metadata
import json
import os
import re
import resource
import sys
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

EVENT = "order_completed"
USER = "user-12345"
KEY = "bench_write_key"
PAGE = os.sysconf("SC_PAGE_SIZE")
CREATED = dt.datetime(2026, 11, 22, 21, 30, 5, 123456, tzinfo=dt.UTC)

Call = Callable[[dict[str, Any]], object]


def properties(i: int, created: object) -> dict[str, Any]:
    """str, float, str, int, bool, tz-aware datetime, list, nested dict (with a nested dict), URL, order id."""
    return {
        "plan": "pro",
        "total": 19.99,
        "currency": "EUR",
        "items": 3,
        "first_order": False,
        "created_at": created,
        "tags": ["summer", "sale", "eu"],
        "shipping": {"method": "express", "address": {"country": "FR", "city": "Lyon", "zip": "69001"}},
        "url": "https://shop.example/checkout/confirm?step=3&ref=newsletter",
        "order_id": f"ord-{i:08d}",
    }


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the SDKs, each with its defaults and only the endpoint changed ------------------------------------


class Sdk:
    """A client ready to be called, how to finish it, and what it says about itself afterwards."""

    def __init__(self, call: Call, finish: Callable[[], object], version: str, notes: Callable[[], dict[str, Any]]):
        self.call = call
        self.finish = finish
        self.version = version
        self.notes = notes


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def footfall(url: str) -> Sdk:
    module = importlib.import_module("footfall")
    client = module.Client(KEY, host=url)

    def call(props: dict[str, Any]) -> object:
        return client.track(EVENT, props, user_id=USER)

    def notes() -> dict[str, Any]:
        stats = client.stats()
        encode = importlib.import_module("footfall._encode")
        return {"encoder": encode.encoder()[1], "sent": stats.sent, "dropped": dict(stats.dropped)}

    return Sdk(call, lambda: client.shutdown(timeout=120.0), module.__version__, notes)


def posthog(url: str) -> Sdk:
    client = importlib.import_module("posthog").Posthog(KEY, host=url)

    def call(props: dict[str, Any]) -> object:
        return client.capture(EVENT, distinct_id=USER, properties=props)

    return Sdk(call, client.shutdown, version("posthog"), dict)


def segment(url: str) -> Sdk:
    client = importlib.import_module("segment.analytics.client").Client(KEY, host=url)

    def call(props: dict[str, Any]) -> object:
        return client.track(USER, EVENT, props)

    return Sdk(call, client.shutdown, version("segment-analytics-python"), dict)


def rudder(url: str) -> Sdk:
    client = importlib.import_module("rudderstack.analytics.client").Client(KEY, host=url)

    def call(props: dict[str, Any]) -> object:
        return client.track(USER, EVENT, props)

    return Sdk(call, client.shutdown, version("rudder-sdk-python"), dict)


def mixpanel(url: str) -> Sdk:
    module = importlib.import_module("mixpanel")
    # api_host always builds https:// URLs, so the events URL is given whole (the research did the same).
    consumer = module.BufferedConsumer(events_url=f"{url}/track")
    client = module.Mixpanel(KEY, consumer=consumer)

    def call(props: dict[str, Any]) -> object:
        return client.track(USER, EVENT, props)

    return Sdk(call, consumer.flush, version("mixpanel"), dict)


def amplitude(url: str) -> Sdk:
    module = importlib.import_module("amplitude")
    client = module.Amplitude(KEY, module.Config(server_url=f"{url}/2/httpapi"))
    event_cls = module.BaseEvent

    def call(props: dict[str, Any]) -> object:  # building the event is part of the SDK's API
        return client.track(event_cls(event_type=EVENT, user_id=USER, event_properties=props))

    return Sdk(call, client.shutdown, version("amplitude-analytics"), dict)


SDKS: dict[str, Callable[[str], Sdk]] = {
    "footfall": footfall,
    "posthog": posthog,
    "segment": segment,
    "rudder": rudder,
    "mixpanel": mixpanel,
    "amplitude": amplitude,
}


# -- the burst ---------------------------------------------------------------------------------------


def percentile(ordered: list[int], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3


def timed_loop(call: Call, n: int, created: object) -> array[int]:
    times = array("q", bytes(8 * n))
    clock = time.perf_counter_ns
    for i in range(n):
        props = properties(i, created)
        t0 = clock()
        call(props)
        times[i] = clock() - t0
    return times


def summary(times: array[int]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_us": percentile(ordered, 0.5),
        "p99_us": percentile(ordered, 0.99),
        "p999_us": percentile(ordered, 0.999),
        "max_us": ordered[-1] / 1e3,
        "mean_us": sum(ordered) / len(ordered) / 1e3,
        "over_100us": float(len(ordered) - bisect.bisect_right(ordered, 100_000)),
        "over_1ms": float(len(ordered) - bisect.bisect_right(ordered, 1_000_000)),
    }


def run(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("block_orjson"):
        sys.modules["orjson"] = None  # type: ignore[assignment] # `import orjson` raises ImportError
    n = int(config["events"])
    # amplitude drops every event property when one is a datetime: it gets the ISO text instead.
    created: object = CREATED.isoformat() if config["sdk"] == "amplitude" else CREATED
    overhead = summary(timed_loop(lambda props: None, min(n, 20_000), created))["median_us"]
    rss_start = rss_mb()
    sdk = SDKS[config["sdk"]](config["url"])
    rss_init, cpu0 = rss_mb(), cpu_s()
    first_call = time.time()
    loop0 = time.perf_counter()
    times = timed_loop(sdk.call, n, created)
    loop_s = time.perf_counter() - loop0
    rss_loop, threads = rss_mb(), threading.active_count()
    finish0 = time.perf_counter()
    sdk.finish()
    finish_s = time.perf_counter() - finish0
    return {
        "sdk": config["sdk"],
        "version": sdk.version,
        "calls": n,
        **summary(times),
        "harness_us": overhead,
        "first_call_at": first_call,
        "loop_s": loop_s,
        "finish_s": finish_s,
        "finished_at": time.time(),
        "cpu_s": cpu_s() - cpu0,
        "rss_import_init_mb": rss_init - rss_start,
        "rss_init_mb": rss_init,
        "rss_growth_mb": rss_loop - rss_init,
        "rss_peak_growth_mb": maxrss_mb() - rss_init,
        "threads_at_loop_end": threads,
        "orjson_loaded": "orjson" in sys.modules and sys.modules["orjson"] is not None,
        "notes": sdk.notes(),
    }


# -- dependencies ------------------------------------------------------------------------------------

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(dist: str, extras: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
    """(name, extras) an installed distribution needs at run time when installed with `extras`: markers
    evaluated for this interpreter (with pip's vendored `packaging`; a plain parse if pip is missing)."""
    try:
        lines = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    try:
        packaging: Any = importlib.import_module("pip._vendor.packaging.requirements")
    except ImportError:
        packaging = None
    wanted = {"", *extras}
    found = []
    for line in lines:
        if packaging is not None:
            req = packaging.Requirement(line)
            if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in wanted):
                continue
            found.append((canonical(req.name), frozenset(req.extras)))
        elif (match := REQUIREMENT.match(line)) is not None:
            marker = EXTRA_MARKER.search(line)
            if marker is None or marker.group(1) in wanted:
                names = match.group(2) or ""
                found.append((canonical(match.group(1)), frozenset(x.strip() for x in names.split(",") if x.strip())))
    return found


def closure(dist: str) -> list[str]:
    """Every distribution `dist` needs at run time, directly or not (extras asked for by a requirement included)."""
    done: set[tuple[str, frozenset[str]]] = set()
    todo = requirements(dist, frozenset())
    while todo:
        item = todo.pop()
        if item not in done:
            done.add(item)
            todo.extend(requirements(*item))
    return sorted({name for name, _ in done})


def main() -> None:
    if sys.argv[1] == "run":
        config = json.loads(sys.argv[2])
        result = run(config)
        with open(config["out"], "w") as f:
            json.dump(result, f)
    elif sys.argv[1] == "deps":
        print(json.dumps({dist: closure(dist) for dist in sys.argv[2:]}))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")


if __name__ == "__main__":
    main()
