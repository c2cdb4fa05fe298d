"""Guards against mistaken and stolen-credential purges (contract §13).

A customer purge is the one request whose size the caller does not choose: a switchboard or test
number may be the "customer" on thousands of calls. Every customer whatIf therefore answers a
``confirmToken`` bound to the user, the number and the exact calls it showed; a purge that would
queue more than the threshold (the API user's own, else ``purge_confirm_above``; NEVER: no
purge) needs it, and any purge that carries one is held to it, so a client (the CLI does) can
never erase more than it showed. Automation that cannot confirm (Tethr's SDKs) is given its own
threshold; the quota bounds it still.

A stolen purge credential is bounded by a quota: calls one API user may queue in a sliding hour,
counted in the database so that it holds across every API node.

A retention policy change erases as surely as a purge (contract §15): it is guarded alike, with
a token bound to the user, the policy as it would be saved and the exact calls it would expire,
and the calls it expires at once charged to the saving user's quota.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Connection

from callvault.errors import Conflict, RateLimited
from callvault.settings import NEVER
from callvault.store import confirmations, purges, quotas
from callvault.store.types import utcnow

CONFIRM_TTL = timedelta(minutes=15)
QUOTA_WINDOW = timedelta(hours=1)
MAX_TOKEN_CHARS = 200


class ConfirmationRequired(Conflict):
    """409 whose problem carries ``matched``: how many calls the purge would queue."""

    def __init__(self, detail: str, matched: int) -> None:
        super().__init__(detail)
        self.extra = {"matched": matched}


def _calls_digest(call_ids: Sequence[str]) -> bytes:
    return hashlib.sha256("\n".join(sorted(call_ids)).encode()).digest()


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def issue_confirm_token(
    conn: Connection, user: str, phone_digest: bytes, would_queue: Sequence[str]
) -> str:
    """A preview's token: ``phone_digest`` is what it binds beside the user and the calls (a
    customer's number digest, or ``policy_digest``)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    confirmations.issue(
        conn,
        _token_hash(token),
        user,
        phone_digest,
        _calls_digest(would_queue),
        now,
        now + CONFIRM_TTL,
    )
    return token


def threshold(instance: int, own: int | None) -> tuple[int, str]:
    """The confirmation threshold that applies to a user (its own, contract §10, else the
    instance's; either may be NEVER) and whose it is, as a 409 says it."""
    if own is None:
        return instance, "the instance's CALLVAULT_PURGE_CONFIRM_ABOVE"
    return own, "this API user's own threshold"


def policy_digest(name: str, max_age_days: int, direction: str | None) -> bytes:
    """What a retention preview's token binds beside the user and the calls: the policy as it
    would be saved (stored where a customer token keeps its number's digest; the prefix keeps
    the two kinds of token apart)."""
    return hashlib.sha256(f"retention\n{name}\n{max_age_days}\n{direction}".encode()).digest()


def _check_confirmation(
    conn: Connection,
    user: str,
    subject: bytes,
    calls: Sequence[str],
    confirm: str | None,
    confirm_above: int,
    misfit: str,
    too_many: str,
) -> None:
    """The one confirmation rule of customer purges and retention changes: a given token must
    fit (this user, this ``subject``, exactly these ``calls``) and is used up, else the 409 says
    ``misfit``; without one, more calls than ``confirm_above`` (NEVER: no bound) is the 409
    ``too_many``."""
    if confirm is not None:
        fits = len(confirm) <= MAX_TOKEN_CHARS and confirmations.redeem(
            conn, _token_hash(confirm), user, subject, _calls_digest(calls), utcnow()
        )
        if not fits:
            raise ConfirmationRequired(misfit, len(calls))
        return
    if confirm_above != NEVER and len(calls) > confirm_above:
        raise ConfirmationRequired(too_many, len(calls))


def check_policy_change(
    conn: Connection,
    user: str,
    policy: bytes,
    would_expire: Sequence[str],
    confirm: str | None,
    confirm_above: int,
    whose: str = "the instance's CALLVAULT_PURGE_CONFIRM_ABOVE",
) -> None:
    """Raise unless a retention policy change may expire ``would_expire`` (expired and held
    calls alike) now; a fitting token is used up. As ``check_customer_purge``."""
    _check_confirmation(
        conn,
        user,
        policy,
        would_expire,
        confirm,
        confirm_above,
        misfit="this confirm token does not fit this policy change: it was issued to another "
        "user or for another policy name, maxAgeDays or direction, it expired (15 "
        "minutes) or was used, or the calls the change would expire changed since the "
        f"preview ({len(would_expire)} now); preview anew with ?whatIf=true and "
        "confirm with its confirmToken",
        too_many=f"this retention policy change would expire {len(would_expire)} calls at once "
        f"(held ones included: erased on release), more than the {confirm_above} allowed "
        f"without confirmation ({whose}): preview it with ?whatIf=true, check the count, "
        "then save it with ?confirm=<confirmToken of that preview>",
    )


def check_customer_purge(
    conn: Connection,
    user: str,
    phone_digest: bytes,
    to_queue: Sequence[str],
    confirm: str | None,
    confirm_above: int,
    whose: str = "the instance's CALLVAULT_PURGE_CONFIRM_ABOVE",
) -> None:
    """Raise unless the purge may queue ``to_queue``; a fitting token is used up.
    ``confirm_above``: the threshold (NEVER: none), ``whose`` it is (said in the 409)."""
    _check_confirmation(
        conn,
        user,
        phone_digest,
        to_queue,
        confirm,
        confirm_above,
        misfit="this confirm token does not fit this purge: it was issued to another user or "
        "for another number, it expired (15 minutes) or was used, or the number's calls "
        f"changed since the preview ({len(to_queue)} would be queued now); preview "
        "anew with ?whatIf=true and confirm with its confirmToken",
        too_many=f"this customer purge would erase {len(to_queue)} calls, more than the "
        f"{confirm_above} allowed without confirmation ({whose}): preview it with "
        "?whatIf=true, check the calls, then purge with ?confirm=<confirmToken of that "
        "preview>",
    )


def lock_quota(conn: Connection) -> None:
    """Make the quota exact across API nodes (PostgreSQL's advisory lock; SQLite's write lock
    already is): taken first in every acceptance that may queue, before any row lock, so that the
    lock order stays quota, rows, audit."""
    quotas.lock_quota(conn)


def check_quota(conn: Connection, user: str, queueing: int, quota: int) -> None:
    """Raise RateLimited unless ``user`` may queue ``queueing`` more calls this hour (what its
    requests queued and what was charged to it, ``quotas.charge``, count alike)."""
    now = utcnow()
    since = now - QUOTA_WINDOW
    used = purges.queued_total_since(conn, user, since) + quotas.charged_total_since(
        conn, user, since
    )
    if used + queueing <= quota:
        return
    if queueing > quota:
        raise RateLimited(
            f"this request would queue {queueing} calls, more than the erasure quota of {quota} "
            "calls an hour per API user (CALLVAULT_PURGE_QUOTA_PER_HOUR): split it into smaller "
            "requests over time; nothing of it was queued",
            QUOTA_WINDOW.total_seconds(),
        )
    # The earliest moment enough of the past hour's erasures fall out of the window.
    must_free, freed, wait = used + queueing - quota, 0, QUOTA_WINDOW.total_seconds()
    spent = sorted(purges.queued_since(conn, user, since) + quotas.charged_since(conn, user, since))
    for accepted_at, n in spent:
        freed += n
        if freed >= must_free:
            wait = max(1.0, (accepted_at + QUOTA_WINDOW - now).total_seconds())
            break
    raise RateLimited(
        f"this API user queued {used} calls for erasure in the last hour; {queueing} more would "
        f"pass the quota of {quota} (CALLVAULT_PURGE_QUOTA_PER_HOUR): nothing of this request "
        f"was queued; retry in {wait:.0f} s",
        wait,
    )
