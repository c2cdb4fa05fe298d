"""Keyset paging's cursors, for the lists that page by (creation time, ID), newest first (holds,
suppressions): opaque to clients, a position to the store."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from callvault.errors import BadInput

_NOT_OURS = "cursor is not one a previous page's nextCursor gave"


def cursor_of(created_at: datetime, row_id: str) -> str:
    """Where the next page starts: after the row created at ``created_at`` with ``row_id``."""
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position_of(cursor: str) -> tuple[datetime, str]:
    """The (creation time, ID) a cursor names; a 400 for one no page gave."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|", 1)
        when = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(_NOT_OURS) from None
    if when.tzinfo is None or not row_id or len(row_id) > 64:
        raise BadInput(_NOT_OURS)
    return when, row_id
