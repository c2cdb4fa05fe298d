"""suppressions/service.py: identifiers normalized as capture indexes them, nothing but keyed
hashes written, a check's work the same whatever its answer, a suppression made inside its
caller's transaction."""

from __future__ import annotations

import pytest

from callvault.capture.customers import customer_index
from callvault.errors import NotFound
from callvault.store import suppressions as store
from callvault.store.engine import write_transaction
from callvault.suppressions.service import Identifiers, SuppressionService


@pytest.fixture
def service(runtime) -> SuppressionService:
    return SuppressionService(runtime)


def test_forms_are_the_ones_capture_indexes_customers_by(service):
    given = ["(512) 555-0300 x12", "+44 20 7946 0958", "0044 20 7946 0958"]
    emails = ["Jane@Bücher.de "]
    forms = service.forms(Identifiers(given, emails), "US")
    index = customer_index([(p, None) for p in given] + [(None, e) for e in emails], "US")
    assert set(forms) == set(index.forms)
    assert len(forms) == 3  # the two British spellings are one number
    # A national number reads in the asking user's region.
    assert service.forms(Identifiers(["020 7946 0958"]), "GB") == ["+442079460958"]


def test_the_answer_does_not_change_the_work_a_check_does(service, runtime, monkeypatch):
    service.create(Identifiers(["+15125550100"]), "r", None, None, "tester")
    seen = []
    real = store.active_for

    def spy(conn, digests, now):
        seen.append(len(digests))
        return real(conn, digests, now)

    monkeypatch.setattr(store, "active_for", spy)
    assert service.check("+15125550100", None) is True
    assert service.check("+15125550101", None) is False
    assert service.check(None, "a@b.example") is False
    assert seen == [2, 2, 2]


def test_a_suppression_made_in_a_transaction_that_fails_leaves_nothing(service, runtime):
    made = []

    def refused() -> None:
        with write_transaction(runtime.engine) as conn:
            row, _event = service.make(conn, ["+15125550100"], "r", "tester")
            made.append(row.suppression_id)
            raise RuntimeError("the purge was refused")

    with pytest.raises(RuntimeError):
        refused()
    assert service.page(None)["suppressions"] == []
    with pytest.raises(NotFound):
        service.get(made[0])
    assert service.lookup("+15125550100", None) == {"suppressed": False, "suppressionIds": []}
