"""Results to stdout (table, JSON or CSV), progress and summaries to stderr."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from callvault.client import Progress as SdkProgress

stderr = Console(stderr=True, highlight=False)


def count(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 call``, ``2 calls``, ``0 calls``; ``nouns`` for an irregular plural."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


ID_COLUMNS = frozenset({"id", "callId", "sessionId", "requestId", "holdId"})
UNBOUNDED = 1_000_000  # columns: wider than any table


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(list(rows), indent=2) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})
    else:
        _table(rows, columns)
    sys.stdout.flush()


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """IDs are never cut short (evidence files need them whole): ID columns keep the width of
    their longest value and fold rather than end in "…"; off a terminal (a pipe, a file) every
    column takes its full width and the table is as wide as its longest row, whatever COLUMNS
    says."""
    cells = [["" if row.get(c) is None else str(row[c]) for c in columns] for row in rows]
    table = Table(
        *(
            Column(
                c,
                overflow="fold",
                no_wrap=c in ID_COLUMNS,
                min_width=max((len(r[i]) for r in cells), default=0) if c in ID_COLUMNS else None,
            )
            for i, c in enumerate(columns)
        )
    )
    for cells_of_row in cells:
        table.add_row(*cells_of_row)
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        # Measured without a width to fit (rich measures within the console's width, 80 columns
        # off a terminal, and would squeeze the columns that are not IDs to nothing).
        unbounded = console.options.update_width(UNBOUNDED)
        console = Console(soft_wrap=True, width=console.measure(table, options=unbounded).maximum)
    console.print(table)


def summary(rows: Sequence[dict[str, Any]]) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    text = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "no items"
    stderr.print(f"{count(len(rows), 'ID')}: {text}")


class ProgressReporter:
    """A rich progress bar on a terminal; plain lines otherwise (logs of scripted runs)."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._tasks: dict[str, Any] = {}
        if stderr.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr,
                transient=False,
            )

    def __enter__(self) -> Callable[[SdkProgress], None]:
        if self._bar is not None:
            self._bar.start()
        return self.update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, progress: SdkProgress) -> None:
        label = {"submit": "submitted IDs", "wait": "finished requests"}[progress.stage]
        if self._bar is None:
            stderr.print(f"{label}: {progress.done}/{progress.total}")
            return
        if progress.stage not in self._tasks:
            self._tasks[progress.stage] = self._bar.add_task(label, total=progress.total)
        self._bar.update(self._tasks[progress.stage], completed=progress.done)
