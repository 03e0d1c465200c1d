"""The pictures drawn on the server: a retention triangle's cells, funnel bars, breakdown bars. They are
plain numbers and CSS classes (the pages' CSP allows no inline style); SVG draws the widths."""

from datetime import date, datetime
from typing import Any, Final

import msgspec

SHADES: Final = 10  # retention cells: classes heat-0 (no one came back) .. heat-10 (everyone)


class Cell(msgspec.Struct, frozen=True):
    period: int
    people: int | None  # None: the period is not over yet
    rate: float | None
    shade: int  # 0..SHADES
    light_text: bool


class CohortRow(msgspec.Struct, frozen=True):
    cohort: str
    size: int
    cells: list[Cell]


def shade(rate: float) -> int:
    return max(0, min(SHADES, round(rate * SHADES)))


def retention_triangle(answer: dict[str, Any]) -> list[CohortRow]:
    """One row per cohort, one cell per period: ended periods by their rate, the rest marked unfinished.
    Period 0 is drawn at full colour whatever its rate (everyone in a cohort was there)."""
    rows = []
    for cohort in answer["cohorts"]:
        cells = []
        for k in range(answer["periods"] + 1):
            if k < len(cohort["returned"]):
                rate = cohort["rates"][k]
                level = SHADES if k == 0 else shade(rate)
                cells.append(Cell(k, cohort["returned"][k], rate, level, level >= 6))
            else:
                cells.append(Cell(k, None, None, 0, False))
        rows.append(CohortRow(cohort["cohort"], cohort["size"], cells))
    return rows


class Step(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    name: str
    people: int
    of_first: float
    of_previous: float
    dropped: int
    dropped_share: float  # of the previous step


def funnel_steps(answer: dict[str, Any]) -> list[Step]:
    steps, previous = [], None
    for i, step in enumerate(answer["steps"]):
        before = previous if previous is not None else step["people"]
        steps.append(
            Step(
                number=i + 1,
                name=step["step"],
                people=step["people"],
                of_first=step["of_first"],
                of_previous=step["people"] / before if before else 0.0,
                dropped=before - step["people"],
                dropped_share=(before - step["people"]) / before if before else 0.0,
            )
        )
        previous = step["people"]
    return steps


def change(current: float | None, previous: float | None) -> float | None:
    """The relative change from the previous period (None when there is nothing to compare with)."""
    if current is None or not previous:
        return None
    return (current - previous) / previous


def series_epoch(points: list[dict[str, Any]], key: str = "t") -> list[int]:
    """Bucket starts as Unix seconds for uPlot's x axis ("2026-11-02" or "2026-11-02T13:00:00Z")."""
    out = []
    for point in points:
        text = str(point[key])
        if len(text) == 10:
            out.append((date.fromisoformat(text) - date(1970, 1, 1)).days * 86_400)
        else:
            out.append(int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()))
    return out
