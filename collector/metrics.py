"""Prometheus text exposition for the few numbers an operator watches; no client library needed."""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Final

LabelValues = tuple[str, ...]

LATENCY_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Metric(ABC):
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labels = tuple(labels)
        self._lock = threading.Lock()

    def _label_text(self, values: LabelValues, extra: str = "") -> str:
        pairs = [f'{k}="{_escape(v)}"' for k, v in zip(self.labels, values, strict=True)]
        if extra:
            pairs.append(extra)
        return "{" + ",".join(pairs) + "}" if pairs else ""

    @abstractmethod
    def samples(self) -> list[str]: ...

    def render(self) -> str:
        head = f"# HELP {self.name} {self.help}\n# TYPE {self.name} {self.kind}\n"
        return head + "".join(line + "\n" for line in self.samples())


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, *labels: str, by: float = 1) -> None:
        with self._lock:
            self._values[labels] = self._values.get(labels, 0) + by

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        if not items and not self.labels:
            return [f"{self.name} 0"]  # a counter nothing has touched yet still says so
        return [f"{self.name}{self._label_text(k)} {_num(v)}" for k, v in items]


class Gauge(_Metric):
    """A value read when /metrics is scraped."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        super().__init__(name, help_text)
        self._read = read

    def samples(self) -> list[str]:
        return [f"{self.name} {_num(self._read())}"]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS_S) -> None:
        super().__init__(name, help_text)
        self.buckets = buckets
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1
                    break
            else:
                self._counts[-1] += 1

    @property
    def count(self) -> int:
        return sum(self._counts)

    def samples(self) -> list[str]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        lines, running = [], 0
        for bound, n in zip((*self.buckets, float("inf")), counts, strict=True):
            running += n
            le = "+Inf" if bound == float("inf") else _num(bound)
            lines.append(f'{self.name}_bucket{{le="{le}"}} {running}')
        lines += [f"{self.name}_sum {_num(total)}", f"{self.name}_count {running}"]
        return lines


class Metrics:
    """Everything /metrics shows. One instance per app, held on app.state."""

    def __init__(self) -> None:
        self.requests = Counter(
            "footfall_http_requests_total", "HTTP requests by route and status.", ("route", "status")
        )
        self.accepted = Counter("footfall_events_accepted_total", "Events acknowledged and stored.")
        self.rejected = Counter("footfall_events_rejected_total", "Events refused, by reason.", ("reason",))
        self.dropped = Counter("footfall_events_dropped_total", "Events dropped by enrichment, by reason.", ("reason",))
        self.batches_refused = Counter(
            "footfall_batches_refused_total", "Whole batches refused, by error code.", ("error",)
        )
        self.insert_seconds = Histogram("footfall_insert_duration_seconds", "Time to write one block to ClickHouse.")
        self.insert_rows = Counter("footfall_insert_rows_total", "Rows written to ClickHouse.")
        self.insert_failures = Counter("footfall_insert_failures_total", "Blocks ClickHouse refused or could not take.")
        self.spool_damaged = Counter(
            "footfall_spool_damaged_records_total", "Spool records skipped after a crash or damage (torn tails)."
        )
        self.quarantined = Counter(
            "footfall_events_quarantined_total", "Acknowledged events ClickHouse refused, kept in spool/quarantine."
        )
        self._gauges: list[Gauge] = []

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._gauges.append(Gauge(name, help_text, read))

    def render(self) -> str:
        metrics: list[_Metric] = [
            self.requests,
            self.accepted,
            self.rejected,
            self.dropped,
            self.batches_refused,
            self.insert_seconds,
            self.insert_rows,
            self.insert_failures,
            self.spool_damaged,
            self.quarantined,
            *self._gauges,
        ]
        return "".join(m.render() for m in metrics)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
