"""Ingest health: what waits in the spool, what the writer is doing, how long events take to become
queryable. Process state of the process that runs the writer, read as one typed value (IngestHealth)
by the read API (GET /api/v1/live) through the callable the app keeps as `app.state.ingest_health`.
docs/operations.md describes the fields."""

import contextlib
import math
from collections.abc import Callable
from pathlib import Path

import msgspec

from collector.storage.segments import count_records
from collector.storage.sink import Writer
from collector.storage.spool import spool_folders


class SpoolDepth(msgspec.Struct, frozen=True, kw_only=True):
    """Every spool folder under the spool directory (this process's, its edges', those left behind)."""

    segments: int  # sealed ones waiting for the writer, and those being appended to (when not empty)
    records: int  # requests in them (each request is one record)
    bytes: int  # on disk, the active segments' 8-byte headers included


class WriterHealth(msgspec.Struct, frozen=True, kw_only=True):
    running: bool
    failing: bool
    problem: str  # "" | "clickhouse_unavailable" | "writer_error"; the log and /readyz say more
    failing_since_ms: int | None
    last_commit_ms: int | None  # when ClickHouse last committed a segment
    segments_stored: int  # since the process started
    backlog_segments: int  # sealed segments waiting for it


class TimeToQueryable(msgspec.Struct, frozen=True, kw_only=True):
    """From a request's receipt to ClickHouse's commit of its segment (the oldest request of each)."""

    last_ms: int | None
    p95_ms: int | None
    segments: int  # how many recent segments the p95 covers


class IngestHealth(msgspec.Struct, frozen=True, kw_only=True):
    at_ms: int
    spool: SpoolDepth
    writer: WriterHealth
    time_to_queryable: TimeToQueryable


class HealthProbe:
    """The callable behind `app.state.ingest_health`. Reads the folders itself (it never takes an
    orphan's lock, which is the writer's business), so it may run in any thread. A sealed segment's
    record count is read once (sealed files do not change); open ones are read each time."""

    def __init__(self, writer: Writer, spool_dir: Path, *, now_ms: Callable[[], int]) -> None:
        self._writer = writer
        self._spool_dir = spool_dir
        self._now_ms = now_ms
        self._counted: dict[Path, int] = {}

    def __call__(self) -> IngestHealth:
        writer = self._writer
        segments = records = size = sealed = 0
        counted: dict[Path, int] = {}
        for folder in spool_folders(self._spool_dir):
            for path in (*folder.glob("*.seg"), *folder.glob("*.open")):
                with contextlib.suppress(FileNotFoundError):  # stored (or sealed) meanwhile
                    size += path.stat().st_size
                    if path.suffix == ".seg":
                        n = counted[path] = self._counted.get(path) or count_records(path)
                        sealed += 1
                    else:
                        n = count_records(path)  # an active segment still empty waits for nothing
                    records += n
                    segments += 1 if n else 0
        self._counted = counted  # forget the segments stored since
        lags = sorted(writer.lags_ms)
        return IngestHealth(
            at_ms=self._now_ms(),
            spool=SpoolDepth(segments=segments, records=records, bytes=size),
            writer=WriterHealth(
                running=writer.running,
                failing=writer.failing() is not None,
                problem=writer.problem,
                failing_since_ms=writer.failing_since_ms,
                last_commit_ms=writer.last_commit_ms,
                segments_stored=writer.segments_stored,
                backlog_segments=sealed,
            ),
            time_to_queryable=TimeToQueryable(
                last_ms=writer.lags_ms[-1] if writer.lags_ms else None,
                p95_ms=lags[math.ceil(0.95 * len(lags)) - 1] if lags else None,
                segments=len(lags),
            ),
        )
