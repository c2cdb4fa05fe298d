"""Queries of API users (``api_users``): creating, listing and disabling them, their console
passwords, and the lookups that authenticate someone by client ID or by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from callvault.store.engine import write_transaction
from callvault.store.tables import access_tokens, api_users, console_sessions
from callvault.store.types import utcnow

# The user's columns a Principal is made of (auth/identity.py's principal_of), for every lookup
# that authenticates someone (token, password, console session): one list.
PRINCIPAL_COLUMNS = (
    api_users.c.id,
    api_users.c.name,
    api_users.c.permissions,
    api_users.c.disabled,
    api_users.c.region,
    api_users.c.confirm_above,
)


class Keep(Enum):
    """update_user's "leave this column as it is" (None is a value there: the instance's)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class UserRow:
    name: str
    client_id: str
    permissions: str  # comma-separated, as stored
    disabled: bool
    created_at: datetime
    region: str | None
    has_password: bool
    confirm_above: int | None  # its own confirmation threshold; None: the instance's; -1: never


@dataclass(frozen=True)
class ClientRow:
    """What the token endpoint checks a client's secret against."""

    user_id: int
    secret_hash: bytes
    disabled: bool


def insert_user(
    engine: Engine,
    *,
    name: str,
    client_id: str,
    secret_hash: bytes,
    permissions: str,
    region: str | None,
    password_hash: str | None,
    confirm_above: int | None = None,
) -> bool:
    """A new, enabled user; False (and nothing written) if a user of that name exists.
    ``confirm_above``: its own confirmation threshold (None: the instance's; -1: never)."""
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(api_users).values(
                    name=name,
                    client_id=client_id,
                    secret_hash=secret_hash,
                    permissions=permissions,
                    disabled=False,
                    created_at=utcnow(),
                    region=region,
                    password_hash=password_hash,
                    confirm_above=confirm_above,
                )
            )
    except IntegrityError:
        return False
    return True


def all_users(engine: Engine) -> list[UserRow]:
    """Every user, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                api_users.c.name,
                api_users.c.client_id,
                api_users.c.permissions,
                api_users.c.disabled,
                api_users.c.created_at,
                api_users.c.region,
                api_users.c.password_hash,
                api_users.c.confirm_above,
            ).order_by(api_users.c.id)
        ).all()
    return [
        UserRow(
            name=row.name,
            client_id=row.client_id,
            permissions=row.permissions,
            disabled=row.disabled,
            created_at=row.created_at,
            region=row.region,
            has_password=row.password_hash is not None,
            confirm_above=row.confirm_above,
        )
        for row in rows
    ]


def standing(conn: Connection, names: set[str]) -> dict[str, tuple[bool, str]]:
    """For each of ``names`` that is a user: (disabled, its permissions as stored)."""
    if not names:
        return {}
    rows = conn.execute(
        select(api_users.c.name, api_users.c.disabled, api_users.c.permissions).where(
            api_users.c.name.in_(sorted(names))
        )
    )
    return {r.name: (bool(r.disabled), r.permissions) for r in rows}


def disable(engine: Engine, name: str) -> bool:
    """Disable the user of this name and delete its access tokens, in one transaction; False if
    there is no such user."""
    with write_transaction(engine) as conn:
        user_id = conn.execute(select(api_users.c.id).where(api_users.c.name == name)).scalar()
        if user_id is None:
            return False
        conn.execute(update(api_users).where(api_users.c.id == user_id).values(disabled=True))
        conn.execute(delete(access_tokens).where(access_tokens.c.user_id == user_id))
    return True


def set_region(engine: Engine, name: str, region: str | None) -> bool:
    """Set the region the user's captures and customer purges read national numbers in (None:
    the instance's default); False if there is no such user."""
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(api_users).where(api_users.c.name == name).values(region=region)
        )
    return result.rowcount > 0


def update_user(
    engine: Engine,
    name: str,
    *,
    region: str | Keep | None = KEEP,
    confirm_above: int | Keep | None = KEEP,
) -> bool:
    """Set the columns given (KEEP: leave it; None: back to the instance's setting), in one
    statement; False if there is no such user. The user's next request reads them, from a
    token or console session already open too (every lookup joins the user's row)."""
    values: dict[str, Any] = {}
    if not isinstance(region, Keep):
        values["region"] = region
    if not isinstance(confirm_above, Keep):
        values["confirm_above"] = confirm_above
    with write_transaction(engine) as conn:
        if not values:
            found = conn.execute(select(api_users.c.id).where(api_users.c.name == name)).first()
            return found is not None
        result = conn.execute(update(api_users).where(api_users.c.name == name).values(**values))
    return result.rowcount > 0


def set_password_hash(engine: Engine, name: str, password_hash: str) -> bool:
    """Store the user's new password hash and end its console sessions, in one transaction;
    False if there is no such user."""
    with write_transaction(engine) as conn:
        user_id = conn.execute(select(api_users.c.id).where(api_users.c.name == name)).scalar()
        if user_id is None:
            return False
        conn.execute(
            update(api_users).where(api_users.c.id == user_id).values(password_hash=password_hash)
        )
        conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
    return True


def client(engine: Engine, client_id: str) -> ClientRow | None:
    """The user holding this client ID, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(api_users.c.id, api_users.c.secret_hash, api_users.c.disabled).where(
                api_users.c.client_id == client_id
            )
        ).first()
    if row is None:
        return None
    return ClientRow(user_id=row.id, secret_hash=bytes(row.secret_hash), disabled=row.disabled)


def login_row(engine: Engine, name: str) -> Any:
    """The user of this name (``PRINCIPAL_COLUMNS`` and ``password_hash``), or None."""
    with engine.connect() as conn:
        return conn.execute(
            select(*PRINCIPAL_COLUMNS, api_users.c.password_hash).where(api_users.c.name == name)
        ).first()
