"""API users: machine credentials (``client_id`` + ``client_secret``) with permissions.

The secret is shown once, at creation, and stored only as a SHA-256 hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from callvault.auth.identity import hash_secret
from callvault.auth.passwords import hash_password
from callvault.auth.permissions import Permission, parse_permissions
from callvault.errors import Conflict, NotFound
from callvault.phone import check_region
from callvault.settings import NEVER
from callvault.store import users as user_store
from callvault.store.users import KEEP, Keep

__all__ = [
    "KEEP",
    "Keep",
    "NewCredentials",
    "UserInfo",
    "create_user",
    "disable_user",
    "list_users",
    "set_user_region",
    "update_user",
]


@dataclass(frozen=True)
class NewCredentials:
    name: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class UserInfo:
    name: str
    client_id: str
    permissions: frozenset[Permission]
    disabled: bool
    created_at: datetime
    region: str | None = None  # its national phone numbers' region (None: the instance's)
    has_password: bool = False  # may log in to the console
    # Its own confirmation threshold for customer purges: None, the instance's; NEVER; N >= 0.
    confirm_above: int | None = None


def _check_confirm_above(value: int | None) -> int | None:
    if value is None or value == NEVER or (type(value) is int and value >= 0):
        return value
    raise ValueError(f"a confirmation threshold is a whole number >= 0 or never, not {value!r}")


def create_user(
    engine: Engine,
    name: str,
    permissions: list[str],
    region: str | None = None,
    password: str | None = None,
    confirm_above: int | None = None,
) -> NewCredentials:
    """A new API user; ``region`` (e.g. ``MX``) is the region its captures and customer purges
    read national phone numbers in, instead of the instance's default. With ``password``, a
    person may also log in to the console as this user (stored as an Argon2id hash).
    ``confirm_above`` is its own threshold for customer purges (None: the instance's
    ``CALLVAULT_PURGE_CONFIRM_ABOVE``; NEVER: never asks for a confirmation; N: above N calls)
    for automation that cannot confirm (Tethr's SDKs); the quota still applies to it."""
    password_hash = None if password is None else hash_password(password)
    name = name.strip()
    region = None if region is None else check_region(region)
    confirm_above = _check_confirm_above(confirm_above)
    if not name or len(name) > 200:
        raise ValueError("the user name must be 1 to 200 characters")
    perms = parse_permissions(permissions)
    if not perms:
        raise ValueError("give at least one --permission (capture, read, purge, audit, admin)")
    client_id = "cv_" + secrets.token_hex(12)
    client_secret = secrets.token_urlsafe(32)
    created = user_store.insert_user(
        engine,
        name=name,
        client_id=client_id,
        secret_hash=hash_secret(client_secret),
        permissions=",".join(sorted(perms)),
        region=region,
        password_hash=password_hash,
        confirm_above=confirm_above,
    )
    if not created:
        raise Conflict(f"an API user named {name!r} already exists; choose another name")
    return NewCredentials(name=name, client_id=client_id, client_secret=client_secret)


def list_users(engine: Engine) -> list[UserInfo]:
    return [
        UserInfo(
            name=row.name,
            client_id=row.client_id,
            permissions=parse_permissions(row.permissions.split(",")),
            disabled=row.disabled,
            created_at=row.created_at,
            region=row.region,
            has_password=row.has_password,
            confirm_above=row.confirm_above,
        )
        for row in user_store.all_users(engine)
    ]


def set_user_region(engine: Engine, name: str, region: str | None) -> None:
    """Set the region (e.g. ``GB``; None: the instance's) the user's captures and customer purges
    read national phone numbers in. Calls it captured before keep their index until
    ``callvault calls reindex`` reads them again in it. ValueError for an unknown region."""
    code = None if region is None else check_region(region)
    if not user_store.set_region(engine, name, code):
        raise NotFound(f"no API user named {name!r}; `callvault users list` shows them")


def update_user(
    engine: Engine,
    name: str,
    *,
    region: str | Keep | None = KEEP,
    confirm_above: int | Keep | None = KEEP,
) -> None:
    """Change what is given of a user, both or nothing (KEEP: leave it as it is; None: back to
    the instance's setting): its ``region`` (as set_user_region) and its own confirmation
    threshold ``confirm_above`` (as create_user). Its next request reads them, with a token
    already issued too. ValueError for an unknown region or a bad threshold (nothing written),
    NotFound for no such user."""
    if isinstance(region, str):
        region = check_region(region)
    if not isinstance(confirm_above, Keep):
        confirm_above = _check_confirm_above(confirm_above)
    if not user_store.update_user(engine, name, region=region, confirm_above=confirm_above):
        raise NotFound(f"no API user named {name!r}; `callvault users list` shows them")


def disable_user(engine: Engine, name: str) -> None:
    """Disable a user and revoke its tokens at once (each request checks the user)."""
    if not user_store.disable(engine, name):
        raise NotFound(f"no API user named {name!r}; `callvault users list` shows them")
