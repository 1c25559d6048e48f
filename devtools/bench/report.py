"""What a scenario measured: figures beside their targets, printed as a table and saved as JSON."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    """One measured value. `passed` is None when the figure has no target (context only)."""

    scenario: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""

    def mark(self) -> str:
        return {True: "PASS", False: "FAIL", None: ""}[self.passed]


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    context: dict = field(default_factory=dict)

    def add(self, figures: list[Figure]) -> None:
        self.figures.extend(figures)

    def failures(self) -> list[Figure]:
        return [figure for figure in self.figures if figure.passed is False]

    def as_dict(self) -> dict:
        return {"context": self.context, "figures": [asdict(figure) for figure in self.figures]}

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def table(self) -> str:
        rows = [("scenario", "figure", "value", "target", "", "note")]
        rows += [
            (f.scenario, f.name, f"{_format(f.value)} {f.unit}".strip(), f.target, f.mark(), f.note)
            for f in self.figures
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = []
        for index, row in enumerate(rows):
            cells = [row[i].ljust(widths[i]) for i in range(5)]
            lines.append("  ".join(cells + [row[5]]).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)


def machine() -> dict:
    """Where the figures come from (they only compare within one run)."""
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
