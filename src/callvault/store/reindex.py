"""The half of migration 0018 that needs the key store: re-index the calls it marked.

Migration 0018 marks (``calls_to_reindex``) every call with a contact type that trims and
case-folds to ``customer``, the calls whose blind-index entries an earlier rule may have got
wrong (contract §16, §19):

- a Customer contact spelt ``"Customer "``, ``"customer\\t"``, ``" CUSTOMER"``: capture did not
  index it at all, by phone nor by e-mail;
- a Customer e-mail address: capture indexed it as ``mailto:`` + the address trimmed and
  lower-cased, where §16 now asks for NFKC, the domain's IDNA A-label and ``casefold``.

Those contacts are sealed with each call's data key, and the data keys live in the key store,
which Alembic never sees; so the re-index runs as the store opens (``Runtime.open``, every
``serve``, ``worker`` and server-side command, ``callvault db upgrade`` too), once the key store
is open, before anything is served: the way a key store made before 2026-12-03 is rebuilt as it
is first opened (``store/keystore.py``). Until then no customer purge or hold runs on the store.

For each marked call, its sealed contacts are opened and

- a Customer contact the old rule did not read as Customer gets today's entries: its phone
  number read in the capturing user's region (else the instance's default), as capture reads it,
  and its e-mail address's form; a number no reading makes a phone number marks the call
  ``customer_indexed`` false (listed by ``callvault calls unindexed``);
- a Customer e-mail the old rule indexed gets today's form, and the old form's entry is deleted
  (when the two differ; an address today's rule refuses keeps no entry: no purge can name it).

Nothing else changes: a number already indexed stays under the reading it was indexed by
(``callvault calls reindex`` is the tool for numbers read in a wrong region). Each page of calls
is one transaction that also deletes their marks, so a crash re-does at most a page, and two
processes opening the store at once re-index each call once (the one that deletes its mark).
A call whose key is gone (its erasure under way) is unmarked; one whose details do not open (a
master key that is not the store's) stays marked, is logged by count only, and is tried again at
the next opening. The rules of the code before 0018 are frozen here, as a migration's are.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from callvault import emails
from callvault.crypto import CallCipher, DecryptionError, KeyRing
from callvault.phone import index_form, is_number
from callvault.store.calls import capturing_regions
from callvault.store.engine import write_transaction
from callvault.store.keystore import KeyStore
from callvault.store.tables import calls, calls_to_reindex, customer_phones

log = logging.getLogger(__name__)

PAGE = 500
# The purpose the sealed details of a call are bound to (capture/sealed.py's PURPOSE).
DETAILS = "details"


def _customer_now(contact_type: Any) -> bool:
    """Capture's reading since 0018 (capture/info.py ``is_customer_type``)."""
    return isinstance(contact_type, str) and contact_type.strip().casefold() == "customer"


def _customer_before(contact_type: str) -> bool:
    """Capture's reading before 0018: the type in any case, untrimmed."""
    return contact_type.lower() == "customer"


def _email_form_before(address: str) -> str:
    """emails.index_form before 0018: ``mailto:`` and the address trimmed and lower-cased."""
    return "mailto:" + address.strip().lower()


@dataclass(frozen=True)
class Plan:
    """What one call's entries need: digests to add, digests to delete, whether a Customer
    number turned out to have no index form."""

    add: frozenset[bytes]
    drop: frozenset[bytes]
    unindexed: bool


def plan(contacts: Iterable[Any], region: str, blind: Callable[[str], bytes]) -> Plan:
    """The entries a call's ``contacts`` (its sealed document's list) need under today's rules,
    beside those the code before 0018 made."""
    add: set[bytes] = set()
    old: set[bytes] = set()
    unindexed = False
    for contact in contacts:
        if not isinstance(contact, dict) or not _customer_now(contact.get("type")):
            continue
        indexed_before = _customer_before(contact["type"])
        address = contact.get("email")
        if isinstance(address, str) and address:
            if indexed_before:
                old.add(blind(_email_form_before(address)))
            with contextlib.suppress(emails.InvalidEmail):
                add.add(blind(emails.index_form(address)))
        number = contact.get("phoneNumber")
        if not indexed_before and isinstance(number, str) and number:
            form = index_form(number, region)
            if form is not None:
                add.add(blind(form))
            elif is_number(number):
                unindexed = True
    return Plan(frozenset(add), frozenset(old - add), unindexed)


@dataclass
class _Page:
    plans: dict[str, Plan | None] = field(default_factory=dict)  # None: unmark only
    unopened: int = 0


_MARKED = (
    select(calls.c.call_id, calls.c.sealed)
    .join(calls_to_reindex, calls_to_reindex.c.call_id == calls.c.call_id)
    .where(calls.c.call_id > bindparam("after"))
    .order_by(calls.c.call_id)
    .limit(bindparam("page"))
)
_UNMARK = delete(calls_to_reindex).where(calls_to_reindex.c.call_id == bindparam("marked_id"))
_DROP = delete(customer_phones).where(
    customer_phones.c.call_id == bindparam("owner"),
    customer_phones.c.digest == bindparam("stale"),
)
_NOT_INDEXED = (
    update(calls).where(calls.c.call_id == bindparam("owner")).values(customer_indexed=False)
)


def any_marked(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(calls_to_reindex.c.call_id).limit(1)).first() is not None


def reindex_marked(
    engine: Engine, keystore: KeyStore, keys: KeyRing, default_region: str, page: int = PAGE
) -> int:
    """Re-index every call migration 0018 marked (see the module docstring); returns how many
    calls this run re-indexed. Cheap when nothing is marked: one indexed lookup."""
    if not any_marked(engine):
        return 0
    regions = capturing_regions(engine)
    done = unopened = 0
    after = ""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(_MARKED, {"after": after, "page": page}).all()
        if not rows:
            break
        wrapped = keystore.get_many(r.call_id for r in rows)
        work = _Page()
        for call_id, sealed in rows:
            key = wrapped.get(call_id)
            if key is None:
                work.plans[call_id] = None  # its key destroyed: an erasure under way
                continue
            try:
                cipher = CallCipher(call_id, keys.unwrap(call_id, key))
                details = json.loads(cipher.open(bytes(sealed), DETAILS))
                contacts = details.get("contacts") if isinstance(details, dict) else None
            except (DecryptionError, ValueError):
                work.unopened += 1  # stays marked: tried again at the next opening
                continue
            region = regions.get(call_id, default_region)
            work.plans[call_id] = plan(contacts or [], region, keys.blind_index)
        done += _apply(engine, work.plans)
        unopened += work.unopened
        after = rows[-1].call_id
    if unopened:
        log.warning(
            "migration 0018: %d marked calls could not be re-indexed, their details do not open "
            "with this master key; they stay marked and are tried again at the next opening",
            unopened,
        )
    log.info("migration 0018: re-indexed the customers of %d stored calls", done)
    return done


def _apply(engine: Engine, plans: dict[str, Plan | None]) -> int:
    """One page in one transaction: each call's mark is deleted with its entries fixed; a call
    whose mark another process took first (or that was erased meanwhile) is left alone."""
    if not plans:
        return 0
    applied = 0
    with write_transaction(engine) as conn:
        mine = [c for c in plans if conn.execute(_UNMARK, {"marked_id": c}).rowcount == 1]
        fixes = {c: p for c in mine if (p := plans[c]) is not None}
        if not fixes:
            return 0
        present: set[tuple[str, bytes]] = {
            (call_id, bytes(digest))
            for call_id, digest in conn.execute(
                select(customer_phones.c.call_id, customer_phones.c.digest).where(
                    customer_phones.c.call_id.in_(list(fixes))
                )
            )
        }
        drops = [
            {"owner": c, "stale": d} for c, p in fixes.items() for d in p.drop if (c, d) in present
        ]
        adds = [
            {"call_id": c, "digest": d}
            for c, p in fixes.items()
            for d in sorted(p.add)
            if (c, d) not in present
        ]
        unindexed = [{"owner": c} for c, p in fixes.items() if p.unindexed]
        if drops:
            conn.execute(_DROP, drops)
        if adds:
            conn.execute(insert(customer_phones), adds)
        if unindexed:
            conn.execute(_NOT_INDEXED, unindexed)
        applied = len(fixes)
    return applied
