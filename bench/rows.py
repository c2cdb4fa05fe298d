"""One figure of a benchmark table beside its floor and the ratio, and the table itself
(run_all.py and scale_out_erase.py print theirs with it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    value: float
    floor: float | None
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.floor is None or not self.floor:
            return None
        return self.value / self.floor


def table(rows: list[Row], width: int = 52) -> str:
    lines = [f"{'figure':<{width}}{'value':>11}{'floor':>11}{'ratio':>7}  target"]
    for r in rows:
        floor = "" if r.floor is None else f"{r.floor:,.1f}"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        verdict = "" if r.met is None else (" met" if r.met else " NOT met")
        lines.append(
            f"{r.figure:<{width}}{r.value:>11,.2f}{floor:>11}{ratio:>7}  {r.target}{verdict}"
        )
    return "\n".join(lines)
