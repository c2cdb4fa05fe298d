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
from callvault.store import users as user_store


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


def create_user(
    engine: Engine,
    name: str,
    permissions: list[str],
    region: str | None = None,
    password: str | None = None,
) -> NewCredentials:
    """A new API user; ``region`` (e.g. ``MX``) is the region its captures and customer purges
    read national phone numbers in, instead of the instance's default. With ``password``, a
    person may also log in to the console as this user (stored as an Argon2id hash)."""
    password_hash = None if password is None else hash_password(password)
    name = name.strip()
    region = None if region is None else check_region(region)
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


def disable_user(engine: Engine, name: str) -> None:
    """Disable a user and revoke its tokens at once (each request checks the user)."""
    if not user_store.disable(engine, name):
        raise NotFound(f"no API user named {name!r}; `callvault users list` shows them")
