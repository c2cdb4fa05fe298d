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

from collections.abc import Iterable
from dataclasses import dataclass

from callvault import emails
from callvault.phone import index_form, is_number


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
