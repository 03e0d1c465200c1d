"""Plain-text and markdown tables for the benchmarks' reports."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]

    def text(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) for i, h in enumerate(self.headers)]
        lines = [
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in [self.headers, *self.rows]
        ]
        return "\n".join(lines)

    def markdown(self) -> str:
        head = "| " + " | ".join(self.headers) + " |"
        rule = "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(self.headers))) + "|"
        return "\n".join([head, rule, *("| " + " | ".join(_indent(row)) + " |" for row in self.rows)])


def _indent(row: list[str]) -> list[str]:
    """Markdown drops leading spaces: a first cell's indentation (two spaces a level) becomes "· " a level."""
    first = row[0]
    level = (len(first) - len(first.lstrip(" "))) // 2
    return ["· " * level + first.lstrip(" "), *row[1:]]


def num(value: float, digits: int = 0) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def ratio(part: float, whole: float) -> str:
    if not whole:
        return "-"
    value = part / whole
    return f"{value:.2g}" if value < 1 else f"{value:.2f}"  # 0.0027, 0.15, 1.40
