"""Text that may be stored in clear: no NUL, no lone surrogates.

PostgreSQL rejects NUL in text and neither database can encode a lone UTF-16 surrogate (JSON
allows both, as ``\\u0000`` and ``\\ud800``); refusing them at the edge turns what would be a
500 from the driver into a 400 that says what is wrong.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StrictStr


def check_clean(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode (lone surrogate)") from None
    return value


def is_clean(value: str) -> bool:
    try:
        check_clean(value)
    except ValueError:
        return False
    return True


CleanText = Annotated[StrictStr, AfterValidator(check_clean)]


MAX_REFERENCE = 200
# A reference's characters: any but control characters (Unicode Cc: C0, DEL, C1) and line or
# paragraph separators, so that it prints on one line wherever it is shown. The same pattern is
# in the API's schema (a JSON Schema ``pattern``), so clients and fuzzers know the rule.
REFERENCE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]+$"
_REFERENCE = re.compile(REFERENCE_PATTERN)


def reference_problem(value: object) -> str | None:
    """What is wrong with a reference (contract §23: the privacy program's ticket, 1–200
    printable characters, e.g. DSR-2026-0142), or None for a good one."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_REFERENCE:
        return f"reference must be 1 to {MAX_REFERENCE} printable characters, e.g. DSR-2026-0142"
    if not _REFERENCE.fullmatch(value) or not is_clean(value):
        return "reference must be printable characters only (no tab, line break or control)"
    return None
