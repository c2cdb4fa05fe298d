"""API users: machine credentials (``client_id`` + ``client_secret``) with permissions.

The secret is shown once, at creation, and stored only as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from callvault.auth.permissions import Permission, parse_permissions
from callvault.errors import Conflict, NotFound
from callvault.phone import check_region
from callvault.store.engine import write_transaction
from callvault.store.tables import access_tokens, api_users
from callvault.store.types import utcnow


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


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
    from callvault.auth.passwords import hash_password

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
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(api_users).values(
                    name=name,
                    client_id=client_id,
                    secret_hash=hash_secret(client_secret),
                    permissions=",".join(sorted(perms)),
                    disabled=False,
                    created_at=utcnow(),
                    region=region,
                    password_hash=password_hash,
                )
            )
    except IntegrityError:
        raise Conflict(f"an API user named {name!r} already exists; choose another name") from None
    return NewCredentials(name=name, client_id=client_id, client_secret=client_secret)


def list_users(engine: Engine) -> list[UserInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(api_users).order_by(api_users.c.id)).mappings().all()
    return [
        UserInfo(
            name=row["name"],
            client_id=row["client_id"],
            permissions=parse_permissions(row["permissions"].split(",")),
            disabled=row["disabled"],
            created_at=row["created_at"],
            region=row["region"],
            has_password=row["password_hash"] is not None,
        )
        for row in rows
    ]


def disable_user(engine: Engine, name: str) -> None:
    """Disable a user and revoke its tokens at once (each request checks the user)."""
    with write_transaction(engine) as conn:
        user_id = conn.execute(select(api_users.c.id).where(api_users.c.name == name)).scalar()
        if user_id is None:
            raise NotFound(f"no API user named {name!r}; `callvault users list` shows them")
        conn.execute(update(api_users).where(api_users.c.id == user_id).values(disabled=True))
        conn.execute(delete(access_tokens).where(access_tokens.c.user_id == user_id))
