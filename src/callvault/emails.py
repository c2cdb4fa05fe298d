"""E-mail addresses: when one is valid, and the one form all its spellings are indexed by.

Tethr's v2 API carries a participant's e-mail address and purges a customer's calls by it
(contract §16). An address is personal data: sealed with the call's contacts, and found only
through the blind index, by the keyed hash of its index form (``index_form``): the normalized
address prefixed ``mailto:`` (RFC 6068), so that no address can ever hash like a phone number's
form (``+15125551234``).

Normalized exactly as contract §16 says, in this order:

1. trimmed (any Unicode space at either end);
2. Unicode NFKC: full-width letters, ``＠`` and ``．`` become ``a``, ``@`` and ``.``; ``ﬁ``
   becomes ``fi`` (then trimmed again: NFKC can turn a leading character into a space);
3. the domain as its IDNA A-label per UTS #46 (the maintained ``idna`` package:
   non-transitional processing, STD3 ASCII rules, hyphens and joiners checked, DNS lengths):
   ``bücher.de`` and ``xn--bcher-kva.de`` are one domain; ``straße.de`` keeps its ``ß``
   (``xn--strae-oqa.de``), as IDNA 2008 registers it;
4. then the whole address case-folded (``str.casefold``): ``Jane@`` is ``jane@`` and, in the
   part before ``@``, ``ß`` meets ``ss``.

Case-folding the part before ``@`` is a choice said up front: RFC 5321 lets a mailbox be
case-sensitive, but no mail system in use treats ``Jane@`` and ``jane@`` as two people, and a
purge that missed a call over letter case would be the worse error. Sub-addresses are not merged:
``jane+x@`` and ``jane@`` are two addresses (a mail system decides what a tag means, not us).

Invalid, and nothing else (no DNS lookup: an erasure must not depend on a mail server still
existing): not exactly one ``@`` (after NFKC), an empty part on either side, a domain UTS #46
refuses, or text that is not Unicode (a lone surrogate). The message says which rule an address
breaks, never the address. Example::

    index_form("  Jane.Doe+Calls@Bücher.DE ") == "mailto:jane.doe+calls@xn--bcher-kva.de"

Calls indexed under the rule before (trimmed and lower-cased only) are re-indexed once, as the
store first opens after migration 0018 (``store/reindex.py``).
"""

from __future__ import annotations

import unicodedata

import idna

# What a capture's `info` may carry in an e-mail field (a bound on the input, not a rule of
# validity: RFC 5321's 254 characters, and room for spaces around it).
MAX_EMAIL_CHARS = 254
INDEX_PREFIX = "mailto:"


class InvalidEmail(ValueError):
    """Says which rule an address breaks, never the address (messages reach logs and answers)."""


def _a_label(domain: str) -> str:
    """The domain as UTS #46 maps it to ASCII, or InvalidEmail (never quoting the domain)."""
    try:
        encoded = idna.encode(domain, uts46=True, std3_rules=True, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidEmail(
            "its domain is not a valid domain name (IDNA, UTS #46): letters, digits and "
            "hyphens in dot-separated labels of at most 63 characters"
        ) from None
    return encoded.decode("ascii")


def normalize(raw: str) -> str:
    """The address as section 16 normalizes it (see the module docstring), or InvalidEmail
    saying which rule it breaks."""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEmail("it is not valid Unicode text (a lone surrogate)") from None
    address = unicodedata.normalize("NFKC", raw.strip()).strip()
    if not address:
        raise InvalidEmail("it is empty")
    if address.count("@") != 1:
        raise InvalidEmail("it must hold exactly one @, as in name@domain")
    local, domain = address.split("@")
    if not local or not domain:
        raise InvalidEmail("its part before or after the @ is empty")
    return f"{local}@{_a_label(domain)}".casefold()


def index_form(raw: str) -> str:
    """What an address is blind-indexed and found by (see the module docstring)."""
    return INDEX_PREFIX + normalize(raw)
