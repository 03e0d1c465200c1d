"""Where the request path's CPU goes, step by step, without HTTP: µs per event (or per request) for
decoding, each enrichment step, the row encoding and the spool record, over a pool of realistic events
and arrivals made by a real `Enricher` (GeoIP on a generated .mmdb, AgentParser, a snapshot salt).

Run from the repository root (`benchmarks/ingest.py` prints the same section):

    .venv/bin/python benchmarks/steps.py
    .venv/bin/python benchmarks/steps.py --events 50000 --rounds 7 --batch 20

Each figure is the best (lowest) of `--rounds` passes over the whole pool, in one process (the
garbage collector on, as in the server): on a shared VM the best pass is the one least disturbed by
neighbours, and the figure that repeats from run to run; rounds interleave all figures. Steps run in
the order `enrich` runs them, each over the rows the previous steps left (a dropped event skips the
rest); a figure includes the ~0.05 µs of the loop that calls it. User-agent parsing and GeoIP are
measured cold (fresh caches: AgentParser's LRU and ua-parser's own) and cached.
"""

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar

import msgspec
import traffic

from collector import wire
from collector.enrich.agent import AgentParser
from collector.enrich.geo import GeoIP
from collector.enrich.salts import Salts
from collector.enrich.steps import STEPS, Arrival, Enricher, enrich, to_row
from collector.enrich.visitors import visitor_key
from collector.ingest import batch as ingest
from collector.server.intake import admit
from collector.settings import Limits
from collector.sites import Site
from collector.storage.rows import EventRow, encode
from collector.storage.segments import Record

SITE: Final = Site(
    site_id=1, name="bench", allowed_origins=("http://localhost:*",), write_key="ffw_" + "b" * 22, read_key_sha256=""
)
_msgpack: Final = msgspec.msgpack.Encoder()  # what the spool encodes a Record with
T = TypeVar("T")


@dataclass(frozen=True)
class Traffic:
    """Decoded batches of realistic requests and the Arrival a real Enricher made for each."""

    bodies: list[bytes]
    visitors: list[traffic.Visitor]
    batches: list[wire.Batch]
    arrivals: list[Arrival]
    received_ms: int

    @property
    def events(self) -> int:
        return sum(len(b.events) for b in self.batches)


def make_enricher(geo_path: Path, salts_path: Path) -> Enricher:
    return Enricher(geoip=GeoIP.open(str(geo_path)), agents=AgentParser(), salts=Salts(store=None, snapshot=salts_path))


async def arrive(enricher: Enricher, batch: wire.Batch, visitor: traffic.Visitor, received_ms: int) -> Arrival:
    """What app.batch asks of the Enricher for this visitor's request (after X-Forwarded-For is resolved)."""
    return await enricher.arrival(
        SITE,
        batch,
        received_ms=received_ms,
        peer_ip=visitor.ip,
        user_agent=traffic.SERVER_AGENT if visitor.server else visitor.user_agent,
        browser=not visitor.server,
    )


def make_traffic(enricher: Enricher, *, events: int, batch: int, seed: int, server_share: float) -> Traffic:
    import random

    rng = random.Random(seed)
    now = datetime.now(UTC)
    received_ms = int(now.timestamp() * 1000)
    visitors = [traffic.make_visitor(rng, server=rng.random() < server_share) for _ in range(max(1, events // batch))]
    bodies = [traffic.make_body(rng, SITE.write_key, batch, now, v)[0] for v in visitors]
    batches = [ingest.decode_batch(body, Limits()) for body in bodies]

    async def all_arrivals() -> list[Arrival]:
        return [await arrive(enricher, b, v, received_ms) for b, v in zip(batches, visitors, strict=True)]

    arrivals = asyncio.run(all_arrivals())
    missing = [
        a
        for a in arrivals
        if not a.visitor.geo.country or a.visitor.agent is None or a.visitor.agent.is_bot or not a.visitor.key
    ]
    if missing:
        raise RuntimeError(f"{len(missing)} arrivals lack geo, agent or visitor key (or are bots): {missing[0]}")
    return Traffic(bodies, visitors, batches, arrivals, received_ms)


def realistic_rows(rows: int, enricher: Enricher, *, seed: int, server_share: float) -> list[EventRow]:
    """`rows` rows made by the collector's own decode, check and enrich from realistic requests."""
    made = make_traffic(enricher, events=rows + rows // 5 + 50, batch=50, seed=seed, server_share=server_share)
    out: list[EventRow] = []
    for batch, arrival in zip(made.batches, made.arrivals, strict=True):
        checked, enriched = admit(batch, arrival, Limits())
        if checked.rejected:
            raise RuntimeError(f"generated events were refused: {checked.rejected[:3]}")
        out.extend(enriched.rows)
    if len(out) < rows:
        raise RuntimeError(f"made {len(out):,} rows, wanted {rows:,}")
    return out[:rows]


# -- timing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    stage: str
    per: str  # "event", "request", "UA string", "address"
    us: float  # µs per `per`
    in_path: bool  # part of the request path's per-event sum
    note: str = ""


def timed(fn: Callable[[], int]) -> float:
    """µs per unit of one call; `fn` returns how many units it did."""
    started = time.perf_counter()
    units = fn()
    return (time.perf_counter() - started) / max(units, 1) * 1e6


def _clear_ua_parser_cache() -> None:
    """ua-parser keeps a module-level cache of its own (200 strings, emptied when full) behind AgentParser's
    LRU: a cold parse means both are empty, as for a UA string the process has not seen lately."""
    from ua_parser import user_agent_parser

    cache = getattr(user_agent_parser, "_PARSE_CACHE", None)
    if isinstance(cache, dict):
        cache.clear()


def _each(fn: Callable[[T], object], items: Sequence[T]) -> int:
    for item in items:
        fn(item)
    return len(items)


class Bench:
    """Every measurement, each run once per round; rounds are interleaved so that a burst of noise
    from neighbours spoils one round of every figure rather than every round of one figure."""

    def __init__(self, made: Traffic, enricher: Enricher, geo_path: Path) -> None:
        self.made, self.enricher, self.geo_path = made, enricher, geo_path
        self.limits = Limits()
        self.raws = [raw for batch in made.batches for raw in batch.events]
        self.pairs = list(zip(made.batches, made.arrivals, strict=True))
        self.decoded = [(wire.event_decoder.decode(raw), a) for b, a in self.pairs for raw in b.events]
        self.checked = [admit(b, a, self.limits)[1] for b, a in self.pairs]
        self.encoded = [encode(c.rows) for c in self.checked]
        self.agents = sorted({v.user_agent for v in made.visitors})
        self.addresses = sorted({v.ip for v in made.visitors})
        self.samples: dict[str, list[float]] = {}
        self.reached: dict[str, int] = {}

    def add(self, label: str, us: float) -> None:
        self.samples.setdefault(label, []).append(us)

    def best(self, label: str) -> float:
        return min(self.samples[label])

    def round(self, loop: asyncio.AbstractEventLoop) -> None:
        made, limits = self.made, self.limits
        gc.collect()
        self.add("decode_batch", timed(lambda: _each(lambda body: ingest.decode_batch(body, limits), made.bodies)))
        self.add("arrival", timed(lambda: loop.run_until_complete(self._arrivals())))
        self.add("check_events", timed(self._check_all))
        self.add("decode", timed(self._decode_all))
        self.add("enrich", timed(self._enrich_all))
        self.add("encode", timed(self._encode_rows))
        self.add("record", timed(self._records))
        self._steps()
        self._caches()

    async def _arrivals(self) -> int:
        for batch, visitor in zip(self.made.batches, self.made.visitors, strict=True):
            await arrive(self.enricher, batch, visitor, self.made.received_ms)
        return len(self.made.batches)

    def _decode_all(self) -> int:
        for raw in self.raws:
            wire.event_decoder.decode(raw)
        return len(self.raws)

    def _enrich_all(self) -> int:
        for event, arrival in self.decoded:
            enrich(event, arrival)
        return len(self.decoded)

    def _check_all(self) -> int:
        for batch, arrival in self.pairs:
            admit(batch, arrival, self.limits)
        return len(self.raws)

    def _encode_rows(self) -> int:
        for c in self.checked:
            encode(c.rows)
        return sum(len(c.rows) for c in self.checked)

    def _records(self) -> int:
        for c, rows in zip(self.checked, self.encoded, strict=True):
            _msgpack.encode(Record(1, 0, rows, [r.event_id for r in c.rows], [("accepted", "", len(c.rows))]))
        return len(self.checked)

    def _steps(self) -> None:
        """to_row, then each step of STEPS in order over what the steps before it left."""
        started = time.perf_counter()
        rows = [to_row(event, arrival) for event, arrival in self.decoded]
        self.add("to_row", (time.perf_counter() - started) / len(rows) * 1e6)
        alive = [(row, event, arrival) for row, (event, arrival) in zip(rows, self.decoded, strict=True)]
        for step in STEPS:
            started = time.perf_counter()
            results = [step(row, event, arrival) for row, event, arrival in alive]
            self.add(step.__name__, (time.perf_counter() - started) / max(len(alive), 1) * 1e6)
            self.reached[step.__name__] = len(alive)
            alive = [item for item, result in zip(alive, results, strict=True) if result is None]

    def _caches(self) -> None:
        """AgentParser.parse and GeoIP.lookup on a fresh cache (every string parsed), then cached."""
        parser = AgentParser()
        _clear_ua_parser_cache()
        for label in ("ua cold", "ua cached"):
            self.add(label, timed(lambda: _each(parser.parse, self.agents)))
        with GeoIP.open(str(self.geo_path)) as geoip:
            for label in ("geo cold", "geo cached"):
                self.add(label, timed(lambda: _each(geoip.lookup, self.addresses)))
        salt = bytes(16)

        def key(v: traffic.Visitor) -> str:
            return visitor_key(site_id=1, salt=salt, ip=v.ip, user_agent=v.user_agent)

        self.add("key", timed(lambda: _each(key, self.made.visitors)))

    def path(self) -> list[Timing]:
        events = len(self.raws)
        dropped = sum(c.dropped.total() for c in self.checked)
        own = self.best("check_events") - self.best("decode") - self.best("enrich")
        return [
            Timing("decode_batch (the body, events left raw)", "request", self.best("decode_batch"), True),
            Timing("Enricher.arrival (UA, GeoIP, visitor key; cached)", "request", self.best("arrival"), True),
            Timing("check_events (all of the below)", "event", self.best("check_events"), True),
            Timing("  per-event decode (wire.event_decoder)", "event", self.best("decode"), False),
            Timing(
                "  enrich (to_row + STEPS)",
                "event",
                self.best("enrich"),
                False,
                f"{dropped / events:.1%} dropped (no consent)",
            ),
            Timing("  check_events' own work (limits, time window, ids)", "event", own, False),
            Timing("encode (rows to JSONEachRow)", "event", self.best("encode"), True),
            Timing("spool Record (ids list, msgpack; rows already encoded)", "request", self.best("record"), True),
        ]

    def steps(self) -> list[Timing]:
        events = len(self.decoded)
        out = [Timing("  to_row (copy the event into an EventRow)", "event", self.best("to_row"), False)]
        for step in STEPS:
            name = step.__name__
            reached = self.reached[name]
            note = "" if reached == events else f"{reached / events:.1%} of events reach it"
            out.append(Timing(f"  {name}", "event", self.best(name), False, note))
        return out

    def caches(self) -> list[Timing]:
        return [
            Timing(
                f"AgentParser.parse, cold ({len(self.agents)} distinct UAs)", "UA string", self.best("ua cold"), False
            ),
            Timing("AgentParser.parse, cached", "UA string", self.best("ua cached"), False),
            Timing(f"GeoIP.lookup, cold ({len(self.addresses):,} addresses)", "address", self.best("geo cold"), False),
            Timing("GeoIP.lookup, cached", "address", self.best("geo cached"), False),
            Timing("visitor_key (blake2b)", "request", self.best("key"), False),
        ]


@dataclass(frozen=True)
class StepReport:
    events: int
    requests: int
    batch: int
    rounds: int
    server_share: float
    path: list[Timing]
    steps: list[Timing]
    caches: list[Timing]

    def per_event(self, t: Timing) -> float:
        return t.us / self.batch if t.per == "request" else t.us

    @property
    def total_us(self) -> float:
        return sum(self.per_event(t) for t in self.path if t.in_path)

    def rows(self) -> list[list[str]]:
        out = []
        for t in self.path:
            share = f"{self.per_event(t) / self.total_us:.0%}" if t.in_path else ""
            out.append([t.stage, f"{t.us:.2f}/{t.per}", f"{self.per_event(t):.2f}", share, t.note])
            if t.stage.startswith("  enrich"):
                out += [["  " + s.stage, f"{s.us:.2f}/{s.per}", f"{s.us:.2f}", "", s.note] for s in self.steps]
        out.append(["request path, per event (sum of the unindented rows)", "", f"{self.total_us:.2f}", "100%", ""])
        out += [[t.stage, f"{t.us:.2f}/{t.per}", "", "", t.note] for t in self.caches]
        return out


HEADERS: Final = ["stage", "µs", "µs/event", "share", "note"]


def run_steps(
    geo_path: Path, workdir: Path, *, events: int, batch: int, rounds: int, seed: int, server_share: float
) -> StepReport:
    enricher = make_enricher(geo_path, traffic.write_salts(workdir / "salts.json"))
    made = make_traffic(enricher, events=events, batch=batch, seed=seed, server_share=server_share)
    bench = Bench(made, enricher, geo_path)
    loop = asyncio.new_event_loop()
    try:
        for _ in range(rounds):
            bench.round(loop)
    finally:
        loop.close()
    return StepReport(
        events=made.events,
        requests=len(made.batches),
        batch=batch,
        rounds=rounds,
        server_share=server_share,
        path=bench.path(),
        steps=bench.steps(),
        caches=bench.caches(),
    )


def title(report: StepReport) -> str:
    return (
        f"request path without HTTP ({report.events:,} events in {report.requests:,} requests of {report.batch}, "
        f"{report.server_share:.0%} server calls; best of {report.rounds} rounds; per-request costs / {report.batch})"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="events in the pool (20,000)")
    parser.add_argument("--batch", type=int, default=50, help="events per request (50)")
    parser.add_argument("--rounds", type=int, default=7, help="passes over the pool; each figure is the best (7)")
    parser.add_argument("--server-share", type=float, default=0.1, help="share of server-SDK requests (0.1)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from report import Table

    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="footfall-steps-") as tmp:
        geo = traffic.write_geo_db(Path(tmp) / "city.mmdb")
        report = run_steps(
            geo,
            Path(tmp),
            events=args.events,
            batch=args.batch,
            rounds=args.rounds,
            seed=args.seed,
            server_share=args.server_share,
        )
    print(title(report))
    print(Table(HEADERS, report.rows()).text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
