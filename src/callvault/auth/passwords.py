"""Console passwords (contract §17): Argon2id, verified in constant time per attempt.

A person is an API user with a password. The password is stored only as an Argon2id PHC string
(``argon2-cffi``'s defaults: Argon2id, 64 MiB, 3 passes, 4 lanes: a stolen database makes each
guess expensive, unlike the machine secrets, whose 256 random bits need no slow hash). A user
without a password cannot log in; an unknown name is verified against a dummy hash so that the
two failures take the same time and cannot be told apart.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from callvault.auth.identity import Principal, principal_of
from callvault.errors import NotFound
from callvault.store import users as user_store
from callvault.text import is_clean

MIN_LENGTH, MAX_LENGTH = 12, 1024

_hasher = PasswordHasher()
_dummy_lock = threading.Lock()
_dummy: list[str] = []


class InvalidLogin(Exception):
    """Unknown name, wrong password, no password or disabled user (deliberately not told apart)."""


def check_password_rules(password: str) -> str:
    """The password, or ValueError saying what a good one looks like."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a console password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a console password has at most {MAX_LENGTH} characters")
    if not is_clean(password):
        raise ValueError("a console password must not contain NUL or lone surrogates")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password_rules(password))


def _dummy_hash() -> str:
    with _dummy_lock:
        if not _dummy:
            _dummy.append(_hasher.hash("callvault-no-such-user-password"))
        return _dummy[0]


def set_password(engine: Engine, name: str, password: str) -> None:
    """Give an API user a (new) console password; its open console sessions end."""
    if not user_store.set_password_hash(engine, name, hash_password(password)):
        raise NotFound(f"no API user named {name!r}; `callvault users list` shows them")


def verify_login(engine: Engine, name: str, password: str) -> Principal:
    """The user whose name and password these are, else InvalidLogin (never saying which part
    was wrong)."""
    row = None
    if 0 < len(name) <= 200 and is_clean(name) and len(password) <= MAX_LENGTH:
        row = user_store.login_row(engine, name)
    stored = row.password_hash if row is not None and row.password_hash else None
    ok: bool
    try:
        ok = _hasher.verify(stored or _dummy_hash(), password if is_clean(password) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if row is None or stored is None or not ok or row.disabled:
        raise InvalidLogin
    return principal_of(row)
