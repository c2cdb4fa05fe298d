"""IDs from arguments and files: one per line, or a CSV column; ``-`` is standard input."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable
from pathlib import Path

from callvault.cli.errors import fail


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        fail(f"cannot read {source}: no such file", code=2)
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror or exc}", code=2)
    except UnicodeDecodeError:
        fail(f"{source} is not UTF-8 text", code=2)


def _csv_column(text: str, source: str, column: str | None) -> list[str]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        fail(f"{source} has no header row", code=2)
    if column is None:
        if len(header) != 1:
            fail(
                f"{source} has several columns ({', '.join(header)}); choose one with --column",
                code=2,
            )
        column = header[0]
    matches = [h for h in (reader.fieldnames or []) if h.strip() == column]
    if not matches:
        fail(f"{source} has no column {column!r} (columns: {', '.join(header)})", code=2)
    return [(row.get(matches[0]) or "").strip() for row in reader]


def read_ids(args: Iterable[str], from_file: str | None, column: str | None) -> list[str]:
    """Every ID given, in order, blanks skipped, each once (the first time it appears)."""
    ids = [a.strip() for a in args]
    if from_file is not None:
        text = _read(from_file)
        if column is not None or from_file.lower().endswith(".csv"):
            ids.extend(_csv_column(text, from_file, column))
        else:
            ids.extend(line.strip() for line in text.splitlines())
    elif column is not None:
        fail("--column needs --from-file", code=2)
    distinct = list(dict.fromkeys(i for i in ids if i))
    if not distinct:
        fail("no IDs given: pass them as arguments or with --from-file", code=2)
    return distinct
