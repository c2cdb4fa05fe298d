"""E-mail addresses: the one syntax rule callvault holds them to, and the form they are indexed by.

Tethr's v2 API carries a participant's e-mail address and purges a customer's calls by it
(contract §16). An address is personal data: sealed with the call's contacts, and found only
through the blind index, by the keyed hash of its index form (``index_form``): trimmed,
lower-cased, prefixed ``mailto:`` (RFC 6068) so that no address can ever hash like a phone
number's form (``+15125551234``).

The syntax rule, deliberately simple (no DNS lookups: an erasure must not depend on a mail server
still existing), is that of a mailbox ``local@domain`` as mail systems deliver to it:

- at most 254 characters in all (RFC 5321 §4.5.3.1.3), exactly one ``@``;
- the local part: 1 to 64 characters, none of them a space, a control character or one of
  ``"(),:;<>[\\]``, and no leading, trailing or doubled dot (quoted local parts, which no
  recorder sends, are not accepted);
- the domain: at least two labels separated by dots, each 1 to 63 letters, digits or hyphens
  (letters of any script: internationalized domains), neither starting nor ending with a hyphen.

Lower-casing the whole address is a choice, said up front: RFC 5321 lets a local part be
case-sensitive, but no mail system in use treats ``Jane@`` and ``jane@`` as two people, and a
purge that missed a call over letter case would be the worse error. Example::

    index_form("  Jane.Doe+Calls@Example.COM ") == "mailto:jane.doe+calls@example.com"
"""

from __future__ import annotations

MAX_EMAIL_CHARS = 254
MAX_LOCAL_CHARS = 64
MAX_LABEL_CHARS = 63
_LOCAL_FORBIDDEN = frozenset('"(),:;<>[\\]@')
INDEX_PREFIX = "mailto:"


class InvalidEmail(ValueError):
    """Says which rule an address breaks, never the address (messages reach logs and answers)."""


def _check_local(local: str) -> None:
    if not 1 <= len(local) <= MAX_LOCAL_CHARS:
        raise InvalidEmail(f"its part before @ must be 1 to {MAX_LOCAL_CHARS} characters")
    for ch in local:
        if ch.isspace() or not ch.isprintable() or ch in _LOCAL_FORBIDDEN:
            raise InvalidEmail(
                'its part before @ holds a space, a control character or one of "(),:;<>[\\]'
            )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidEmail("its part before @ starts or ends with a dot, or has two in a row")


def _check_domain(domain: str) -> None:
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidEmail("its domain needs at least two parts, e.g. example.com")
    for label in labels:
        if not 1 <= len(label) <= MAX_LABEL_CHARS:
            raise InvalidEmail(f"each part of its domain must be 1 to {MAX_LABEL_CHARS} characters")
        if not all(ch.isalnum() or ch == "-" for ch in label):
            raise InvalidEmail("its domain may hold only letters, digits, hyphens and dots")
        if label.startswith("-") or label.endswith("-"):
            raise InvalidEmail("a part of its domain starts or ends with a hyphen")


def normalize(raw: str) -> str:
    """The address trimmed and lower-cased, or InvalidEmail saying which rule it breaks."""
    address = raw.strip()
    if not address:
        raise InvalidEmail("it is empty")
    if len(address) > MAX_EMAIL_CHARS:
        raise InvalidEmail(f"it is longer than {MAX_EMAIL_CHARS} characters")
    if address.count("@") != 1:
        raise InvalidEmail("it must hold exactly one @, as in name@example.com")
    local, domain = address.split("@")
    _check_local(local)
    _check_domain(domain)
    return address.lower()


def index_form(raw: str) -> str:
    """What an address is blind-indexed and found by (see the module docstring)."""
    return INDEX_PREFIX + normalize(raw)
