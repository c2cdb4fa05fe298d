"""Retention policies (contract §15): policies, their preview, the forecast, and the sweep.

A policy erases the calls of its direction (every direction when it names none) once their
``startTime`` is more than ``maxAgeDays`` old; when several match a call, the smallest
``maxAgeDays`` applies. Changes apply to the calls already stored: a policy is a standing rule.

The sweep runs in every purge worker. For each direction it pages through the expired calls in
start-time order (an index range, ``store/retention.py``), and hands each page of at most
``MAX_CALLS_PER_REQUEST`` calls to the one purge machinery (``PurgeService.purge_expired``): the
calls are claimed in the very transaction that writes their request, so each page is its own
short transaction (capture and purge intake wait for one page at most, never for a sweep), and
two workers sweeping at once cannot queue a call twice. On SQLite the sweep pauses between pages
(``SQLITE_PAGE_PAUSE``) so a writer that waited on one gets the lock before the next. Legal holds
are decided where every erasure decides them (``purge/governance.py``): a held call is left out,
and the sweep after its release finds it again, still expired.

A policy change erases as surely as a purge, so it is guarded like one (contract §15,
``purge/guards.py``): above the saving user's confirmation threshold (its own, else the
instance's) it needs the token of its own preview, bound to the user, the policy as saved and the
exact calls it expires (held ones too: erased on release); and the calls it expires at once are
charged to that user's hourly quota when it is saved (the sweep queues them later, as
``retention:<name>``). Confirmation first, then the quota; refused, nothing is saved.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from time import sleep
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.errors import BadInput, NotFound
from callvault.purge import guards
from callvault.purge.governance import Governance
from callvault.purge.service import PurgeResult, PurgeService
from callvault.runtime import Runtime
from callvault.store import quotas
from callvault.store import retention as store
from callvault.store.engine import is_sqlite, write_transaction
from callvault.store.purges import LiveCall
from callvault.store.retention import DIRECTIONS, PolicyRow
from callvault.store.types import utcnow

log = logging.getLogger(__name__)

MAX_CALLS_PER_REQUEST = 1000
MAX_AGE_DAYS = 36500
MAX_FORECAST_DAYS = 366
# A writer that finds SQLite's write lock taken sleeps in SQLite's busy handler, up to 100 ms at a
# time, and the lock goes to whoever asks first once it is free: a sweep that began its next page
# at once would take it again and again, and a capture waited for several pages (0.6 to 1.9 s
# in bench/retention_sweep.py). A pause longer than that sleep lets the waiter in between pages.
# PostgreSQL locks rows, not the database, and needs none.
SQLITE_PAGE_PAUSE = 0.12
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class SweepOutcome:
    queued: int = 0
    request_ids: list[str] = field(default_factory=list)
    skipped: bool = False  # another worker was sweeping (PostgreSQL)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise BadInput("a policy name is 1 to 64 letters, digits, '_' or '-' (e.g. pci-90-days)")
    return name


def _check(name: Any, max_age_days: Any, direction: Any) -> tuple[str, int, str | None]:
    name = check_name(name)
    if (
        isinstance(max_age_days, bool)
        or not isinstance(max_age_days, int)
        or not 1 <= max_age_days <= MAX_AGE_DAYS
    ):
        raise BadInput(f"maxAgeDays must be a whole number of days from 1 to {MAX_AGE_DAYS}")
    if direction is not None and direction not in DIRECTIONS:
        raise BadInput(f"direction must be null (every call) or one of {', '.join(DIRECTIONS)}")
    return name, max_age_days, direction


def governing(policies: Sequence[PolicyRow]) -> dict[str, PolicyRow]:
    """Direction -> the policy that applies to its calls: the smallest maxAgeDays among the
    policies naming that direction or none (ties: the first name)."""
    plan: dict[str, PolicyRow] = {}
    for policy in sorted(policies, key=lambda p: (p.max_age_days, p.name)):
        for direction in policy.directions():
            plan.setdefault(direction, policy)
    return plan


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class RetentionService:
    def __init__(self, runtime: Runtime, batch: int = MAX_CALLS_PER_REQUEST) -> None:
        self.runtime = runtime
        self.batch = min(batch, MAX_CALLS_PER_REQUEST)
        self.page_pause = SQLITE_PAGE_PAUSE if is_sqlite(runtime.engine) else 0.0
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)
        self.purges = PurgeService(runtime)

    # ------------------------------------------------------------------ policies

    def _expired_now(self, conn: Connection, policy: PolicyRow, now: datetime) -> int:
        """Live calls this policy matches that are past it now, unheld and not being erased:
        every one of them is queued by the next sweep (whatever other policies say, the
        smallest maxAgeDays applies, so a call past this one is past the one that governs)."""
        cutoff = now - timedelta(days=policy.max_age_days)
        held = self.governance.held_condition(conn)
        return store.count(conn, policy.directions(), None, cutoff, ~held)

    def _held_now(self, conn: Connection, policy: PolicyRow, now: datetime) -> int:
        """Live calls past this policy now that legal holds keep (erased on release)."""
        cutoff = now - timedelta(days=policy.max_age_days)
        held = self.governance.held_condition(conn)
        return store.count(conn, policy.directions(), None, cutoff, held)

    def _expiring(
        self, conn: Connection, policy: PolicyRow, now: datetime
    ) -> tuple[list[str], list[str]]:
        """The calls this policy expires at once: (unheld, held), as ``_expired_now`` and
        ``_held_now`` count them."""
        cutoff = now - timedelta(days=policy.max_age_days)
        held = self.governance.held_condition(conn)
        return (
            store.expired_ids(conn, policy.directions(), cutoff, ~held),
            store.expired_ids(conn, policy.directions(), cutoff, held),
        )

    def _json(self, policy: PolicyRow, expired_now: int, held_now: int) -> dict[str, Any]:
        return {
            "name": policy.name,
            "maxAgeDays": policy.max_age_days,
            "direction": policy.direction,
            "updatedBy": policy.updated_by,
            "updatedAt": _iso(policy.updated_at),
            "expiredNow": expired_now,
            "heldNow": held_now,
        }

    def put(
        self,
        name: Any,
        max_age_days: Any,
        direction: Any,
        actor: str,
        what_if: bool = False,
        confirm: str | None = None,
        confirm_above: int | None = None,
    ) -> dict[str, Any]:
        """Create or change a policy (``what_if``: answer the same and a ``confirmToken``, save
        nothing). ``confirm``: a preview's confirmToken; ``confirm_above``: the saving user's
        own threshold (None: the instance's)."""
        name, max_age_days, direction = _check(name, max_age_days, direction)
        now = utcnow()
        policy = PolicyRow(name, max_age_days, direction, actor, now)
        digest = guards.policy_digest(name, max_age_days, direction)
        settings = self.runtime.settings
        if what_if:
            with write_transaction(self.runtime.engine) as conn:
                expired, held = self._expiring(conn, policy, now)
                token = guards.issue_confirm_token(conn, actor, digest, expired + held)
                return {**self._json(policy, len(expired), len(held)), "confirmToken": token}
        threshold, whose = guards.threshold(settings.purge_confirm_above, confirm_above)
        quota = settings.purge_quota_per_hour
        with write_transaction(self.runtime.engine) as conn:
            if quota:
                guards.lock_quota(conn)
            store.lock_policies(conn)
            previous = store.get_policy(conn, name, lock=True)
            expired, held = self._expiring(conn, policy, now)
            expiring = expired + held
            guards.check_policy_change(conn, actor, digest, expiring, confirm, threshold, whose)
            if quota and expiring:
                guards.check_quota(conn, actor, len(expiring), quota)
                quotas.charge(conn, actor, len(expiring), f"retention:{name}", now)
            store.save_policy(conn, policy, exists=previous is not None)
            expired_now, held_now = len(expired), len(held)
            event = AuditEvent(
                "retention.policy.set",
                actor,
                details={
                    "name": name,
                    "maxAgeDays": max_age_days,
                    "direction": direction,
                    "previous": None
                    if previous is None
                    else {"maxAgeDays": previous.max_age_days, "direction": previous.direction},
                    "expiredNow": expired_now,
                    "heldNow": held_now,
                    "confirmed": confirm is not None,
                },
            )
            self.trail.append(conn, [event])
        return self._json(policy, expired_now, held_now)

    def list(self) -> list[dict[str, Any]]:
        now = utcnow()
        with self.runtime.engine.connect() as conn:
            return [
                self._json(p, self._expired_now(conn, p, now), self._held_now(conn, p, now))
                for p in store.list_policies(conn)
            ]

    def delete(self, name: Any, actor: str) -> None:
        name = check_name(name)
        with write_transaction(self.runtime.engine) as conn:
            store.lock_policies(conn)
            previous = store.get_policy(conn, name, lock=True)
            if previous is None or not store.delete_policy(conn, name):
                raise NotFound(f"no retention policy named {name!r}")
            event = AuditEvent(
                "retention.policy.deleted",
                actor,
                details={
                    "name": name,
                    "maxAgeDays": previous.max_age_days,
                    "direction": previous.direction,
                },
            )
            self.trail.append(conn, [event])

    # ------------------------------------------------------------------ forecast

    def forecast(self, days: Any = 30) -> dict[str, Any]:
        """Per UTC day from today, the live unheld calls whose policy age is reached that day;
        ``overdue``: those past it already (the next sweep's); ``held``: calls past it now or
        within the window that active legal holds keep."""
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
            raise BadInput(f"days must be a whole number from 1 to {MAX_FORECAST_DAYS}")
        now = utcnow()
        today = now.date()
        end = datetime.combine(today + timedelta(days=days), time.min, UTC)
        per_day = {(today + timedelta(days=i)).isoformat(): 0 for i in range(days)}
        overdue = held_total = 0
        with self.runtime.engine.connect() as conn:
            held = self.governance.held_condition(conn)
            for direction, policy in governing(store.list_policies(conn)).items():
                age = timedelta(days=policy.max_age_days)
                overdue += store.count(conn, [direction], None, now - age, ~held)
                held_total += store.count(conn, [direction], None, end - age, held)
                starts = store.count_by_start_day(conn, direction, now - age, end - age, ~held)
                for start_day, n in starts.items():
                    due = (date.fromisoformat(start_day) + age).isoformat()
                    if due in per_day:
                        per_day[due] += n
        return {
            "days": [{"date": d, "calls": n} for d, n in per_day.items()],
            "overdue": overdue,
            "held": held_total,
        }

    # ------------------------------------------------------------------ the sweep

    def sweep(self) -> SweepOutcome:
        """Queue every expired, unheld call not yet being erased, a page per request."""
        engine = self.runtime.engine
        with store.sweep_lock(engine) as mine:
            if not mine:
                return SweepOutcome(skipped=True)
            now = utcnow()
            with engine.connect() as conn:
                plan = governing(store.list_policies(conn))
            queued = 0
            request_ids: list[str] = []
            for direction, policy in plan.items():
                for result in self._sweep_direction(direction, policy, now):
                    queued += len(result.items)
                    request_ids.append(result.request_id)
        if queued:
            log.info("retention sweep queued %d calls in %d requests", queued, len(request_ids))
        return SweepOutcome(queued, request_ids)

    def _sweep_direction(
        self, direction: str, policy: PolicyRow, now: datetime
    ) -> Iterator[PurgeResult]:
        engine = self.runtime.engine
        cutoff = now - timedelta(days=policy.max_age_days)
        after: tuple[datetime, str] | None = None
        changed = False

        def claim(conn: Connection, ids: list[str]) -> list[LiveCall]:
            nonlocal changed
            # The policies are read again in the accepting transaction: one changed or deleted
            # since the sweep began stops it here (the next sweep follows the new rule).
            current = governing(store.list_policies(conn)).get(direction)
            if current is None or (current.name, current.max_age_days) != (
                policy.name,
                policy.max_age_days,
            ):
                changed = True
                return []
            return store.claim_expired(conn, ids, direction, cutoff)

        while not changed:
            with engine.connect() as conn:
                page = store.expired_page(conn, direction, cutoff, after, self.batch)
            if not page:
                return
            after = page[-1]
            ids = [call_id for _, call_id in page]
            result = self.purges.purge_expired(partial(claim, ids=ids), f"retention:{policy.name}")
            if result.items:
                yield result
            if len(page) < self.batch:
                return
            sleep(self.page_pause)
