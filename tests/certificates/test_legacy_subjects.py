"""A customer request accepted before requests kept ``subjectHashes`` (issue 32 item 8) keeps
the claims it could be certified with then, but for a hash that was never a phone number's."""

from __future__ import annotations

import json
from types import SimpleNamespace

from callvault.certificates.service import _subjects


def requested(**details: object) -> list[SimpleNamespace]:
    return [SimpleNamespace(action="purge.requested", details=json.dumps(details))]


def test_a_request_by_ids_has_no_subjects():
    assert _subjects(None, requested(kind="calls")) == {}


def test_a_legacy_request_of_one_number_keeps_its_hash():
    assert _subjects("h1", requested(kind="customer", phoneHash="h1")) == {
        "customerPhoneHash": "h1"
    }


def test_a_legacy_request_of_several_values_claims_no_phone_hash():
    # Its one hash is of the set of values, not of a phone number: no claim can name it one.
    events = requested(kind="customer", phoneHash="set", customerHashes=["a", "b"])
    assert _subjects("set", events) == {}


def test_a_request_keeps_each_subject():
    subjects = [{"type": "email", "hash": "e"}, {"type": "phone", "hash": "p"}]
    events = requested(kind="customer", phoneHash="x", subjectHashes=subjects)
    assert _subjects("x", events) == {"customerPhoneHash": "p", "subjectHashes": subjects}
