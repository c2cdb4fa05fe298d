"""Who a request acts as (a Principal) and how a machine secret is kept (its SHA-256).

Shared by users.py, tokens.py, passwords.py and sessions.py, and importing none of them, so that
they need not import one another for these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from callvault.auth.permissions import Permission, parse_permissions


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    permissions: frozenset[Permission]
    region: str | None = None  # for national phone numbers; None: the instance's default
    # Its own confirmation threshold for customer purges (contract §13): None, the instance's
    # CALLVAULT_PURGE_CONFIRM_ABOVE; settings.NEVER, none asked; N >= 0, above N calls.
    confirm_above: int | None = None


def principal_of(row: Any) -> Principal:
    """The Principal of a row that has store/users.py's ``PRINCIPAL_COLUMNS``."""
    return Principal(
        user_id=row.id,
        name=row.name,
        permissions=parse_permissions(row.permissions.split(",")),
        region=row.region,
        confirm_above=row.confirm_above,
    )
