"""A call's customers in the blind index: the forms a capture indexes them by, the Customer numbers
no reading makes a phone number, and the re-indexing of stored calls (contract §19, "A number
that cannot be indexed is never silent").

A Customer number that cannot be indexed leaves its call unfindable by phone: no customer purge
and no hold reaches it. Such a call is marked (``calls.customer_indexed`` false), counted
(``callvault_customer_numbers_unindexed_total``), shown (``customerIndexed`` on
``GET /calls/v1/{id}``) and listed (``callvault calls unindexed``). A placeholder is no number
(``anonymous``, ``private``: no digit at all, ``phone.is_number``) and marks nothing.

Once the operator has set the right region, ``callvault calls reindex`` (``Reindexer``) reads
every live call's sealed Customer numbers again, in the capturing user's region (else the
instance's default), adds the index entries it now can and marks each call as it finds it. It
only ever adds: a number already in the index stays as it is, under whatever reading it was
indexed by, so a region changed since (US to GB) never gives a US caller's call a second,
British, reading that a stranger's purge would reach.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from callvault import emails
from callvault.capture.info import is_customer_type
from callvault.capture.sealed import open_details
from callvault.crypto import CallCipher, DecryptionError
from callvault.phone import index_form, is_number
from callvault.runtime import Runtime
from callvault.store.calls import SealedCall, capturing_regions, reindex_call, sealed_calls_after
from callvault.store.users import all_users

log = logging.getLogger(__name__)

# Calls read a page at a time: memory stays flat however many calls the store holds.
PAGE = 500


@dataclass(frozen=True)
class CustomerIndex:
    """The index forms of a call's customers, and how many Customer numbers had none."""

    forms: frozenset[str]
    unindexed: int

    @property
    def complete(self) -> bool:
        return self.unindexed == 0


def customer_index(
    customers: Iterable[tuple[str | None, str | None]], region: str
) -> CustomerIndex:
    """The forms ``(phone, e-mail)`` pairs of Customer contacts are indexed by, phones read in
    ``region``; a phone that is a number (not a placeholder) and has no form is unindexed."""
    forms: set[str] = set()
    unindexed = 0
    for phone, email in customers:
        if phone:
            form = index_form(phone, region)
            if form is not None:
                forms.add(form)
            elif is_number(phone):
                unindexed += 1
        if email:
            # A customer's e-mail is indexed beside its phone, in a form no phone can take.
            forms.add(emails.index_form(email))
    return CustomerIndex(frozenset(forms), unindexed)


@dataclass
class ReindexOutcome:
    """What ``callvault calls reindex`` prints."""

    read: int = 0  # live calls whose Customer numbers were read again
    newly_indexed: int = 0  # calls that had a Customer number without an index entry, now none
    still_unindexed: int = 0  # calls with a Customer number no reading makes a phone number
    skipped: int = 0  # calls whose details could not be opened, or gone meanwhile


@dataclass(frozen=True)
class _Plan:
    add: tuple[bytes, ...]
    indexed: bool


class Reindexer:
    """Re-reads every live call's Customer numbers under today's region settings."""

    def __init__(self, runtime: Runtime, page: int = PAGE) -> None:
        self.runtime = runtime
        self.page = page

    def run(self) -> ReindexOutcome:
        """Add the index entries that can be made now and mark each call; idempotent."""
        rt = self.runtime
        default = rt.settings.default_region
        by_call = capturing_regions(rt.engine)
        # Every region a number may have been indexed in: a reading found under any of them is
        # an index entry, left as it is.
        regions = sorted({default, *(u.region for u in all_users(rt.engine) if u.region)})
        outcome = ReindexOutcome()
        after = ""
        while page := sealed_calls_after(rt.engine, after, self.page):
            for call in page:
                self._reindex(call, by_call.get(call.call_id, default), regions, outcome)
            after = page[-1].call_id
        return outcome

    def _reindex(
        self, call: SealedCall, region: str, regions: Sequence[str], outcome: ReindexOutcome
    ) -> None:
        plan = self._plan(call, region, regions)
        if plan is None:
            outcome.skipped += 1
            return
        if (plan.add or plan.indexed != call.customer_indexed) and not reindex_call(
            self.runtime.engine, call.call_id, plan.add, plan.indexed
        ):
            outcome.skipped += 1  # erased, or its erasure accepted, meanwhile
            return
        outcome.read += 1
        if not plan.indexed:
            outcome.still_unindexed += 1
        elif plan.add or not call.customer_indexed:
            outcome.newly_indexed += 1

    def _contacts(self, call: SealedCall) -> list[dict[str, Any]] | None:
        rt = self.runtime
        wrapped = rt.keystore.get(call.call_id)
        if wrapped is None:
            return None  # its key destroyed: an erasure under way
        try:
            cipher = CallCipher(call.call_id, rt.keys.unwrap(call.call_id, wrapped))
            contacts = open_details(cipher, call.sealed).get("contacts")
        except (DecryptionError, ValueError):
            # The call ID only: the details are personal data.
            log.warning("call %s: its details do not open; not re-indexed", call.call_id)
            return None
        return [
            c for c in contacts or [] if isinstance(c, dict) and is_customer_type(c.get("type"))
        ]

    def _plan(self, call: SealedCall, region: str, regions: Sequence[str]) -> _Plan | None:
        customers = self._contacts(call)
        if customers is None:
            return None
        blind = self.runtime.keys.blind_index
        # The call's phone entries: all of its entries but its customers' e-mails'.
        unexplained = set(call.digests)
        for contact in customers:
            address = contact.get("email")
            if isinstance(address, str) and address:
                with contextlib.suppress(emails.InvalidEmail):
                    unexplained.discard(blind(emails.index_form(address)))
        missing: dict[str, str | None] = {}  # per number: today's form, None if it has none
        for contact in customers:
            phone = contact.get("phoneNumber")
            if not isinstance(phone, str) or not is_number(phone):
                continue
            form = index_form(phone, region)
            # Today's reading first; the others are parsed only when it is not in the index.
            others = (index_form(phone, r) for r in regions if r != region)
            readings = (blind(f) for f in itertools.chain([form], others) if f is not None)
            found = next((d for d in readings if d in call.digests), None)
            if found is not None:
                unexplained.discard(found)
            else:
                missing[form or phone] = form
        # Entries no reading of today's regions explains were made under a region since changed:
        # as many numbers as there are such entries were indexed then, and stay as they are.
        if len(missing) <= len(unexplained):
            return _Plan((), True)
        add = tuple(sorted({blind(f) for f in missing.values() if f is not None}))
        return _Plan(add, all(f is not None for f in missing.values()))
