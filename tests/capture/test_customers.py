"""Re-indexing stored calls' Customer numbers under today's region settings (contract §19, "A
number that cannot be indexed is never silent"): what a region fixed since makes readable is
indexed and unmarked, what was right is left exactly as it was, and a second run does nothing."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import delete, select, update

from callvault.auth.users import create_user, set_user_region
from callvault.capture.customers import Reindexer, ReindexOutcome
from callvault.demo import seed_calls
from callvault.runtime import Runtime
from callvault.store.tables import calls, customer_phones
from helpers import call_info, post_call, post_v2_call, v2_customer_info

pytestmark = pytest.mark.both_backends

LONDON = "020 7946 0958"  # national in GB; under the US region no reading makes it a number


def _token(live, name: str, *permissions: str, region: str | None = None) -> str:
    creds = create_user(live.runtime.engine, name, list(permissions), region=region)
    answer = httpx.post(
        f"{live.url}/Token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _capture(live, token: str, phones: dict[str, str]) -> dict[str, str]:
    ids = {}
    with live.client(token) as client:
        for session, phone in phones.items():
            contacts = [{"type": "Agent"}, {"type": "Customer", "phoneNumber": phone}]
            answer = post_call(client, call_info(session, contacts=contacts))
            assert answer.status_code == 200, answer.text
            ids[session] = answer.json()["callId"]
    return ids


def _in_region(runtime: Runtime, region: str) -> Runtime:
    """The same store under another CALLVAULT_DEFAULT_REGION."""
    settings = runtime.settings.model_copy(update={"default_region": region})
    return dataclasses.replace(runtime, settings=settings, checkpointers=[])


def _index(runtime: Runtime) -> tuple[set[tuple[str, bool]], set[tuple[str, bytes]]]:
    with runtime.engine.connect() as conn:
        marks = {(r.call_id, r.customer_indexed) for r in conn.execute(select(calls))}
        rows = {(r.call_id, bytes(r.digest)) for r in conn.execute(select(customer_phones))}
    return marks, rows


def _marked(runtime: Runtime) -> dict[str, bool]:
    return dict(_index(runtime)[0])


def _preview(live, phone: str) -> list[str]:
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls/customer?whatIf=true", json={"phoneNumber": phone})
    assert answer.status_code == 200, answer.text
    return sorted(item["sessionId"] for item in answer.json()["items"])


def _counts(outcome: ReindexOutcome) -> tuple[int, int, int, int]:
    return outcome.read, outcome.newly_indexed, outcome.still_unindexed, outcome.skipped


def test_a_default_region_set_right_makes_the_number_findable(live):
    ids = _capture(
        live,
        live.token("capture"),
        {"london": LONDON, "austin": "(512) 555-0110", "hidden": "anonymous"},
    )
    assert _marked(live.runtime) == {ids["london"]: False, ids["austin"]: True, ids["hidden"]: True}
    assert _preview(live, "+44 20 7946 0958") == []
    before = _index(live.runtime)

    # Under the region it was captured in, nothing more can be read: nothing changes.
    assert _counts(Reindexer(live.runtime).run()) == (3, 0, 1, 0)
    assert _index(live.runtime) == before

    british = _in_region(live.runtime, "GB")
    assert _counts(Reindexer(british).run()) == (3, 1, 0, 0)
    assert _preview(live, "+44 20 7946 0958") == ["london"]
    after = _index(live.runtime)
    assert all(after[0])  # every call marked indexed
    # Only the London call gained an entry: the Austin caller's number, indexed under its US
    # reading, gets no British reading (+44 512 555 0110) that a stranger's purge would reach.
    added = after[1] - before[1]
    assert len(added) == 1
    assert {call_id for call_id, _ in added} == {ids["london"]}
    assert before[1] <= after[1]
    assert _preview(live, "+44 512 555 0110") == []

    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{ids['london']}").json()["customerIndexed"] is True

    # Idempotent: a second run reads the same calls and changes nothing.
    assert _counts(Reindexer(british).run()) == (3, 0, 0, 0)
    assert _index(live.runtime) == after


def test_each_call_is_read_in_the_region_of_the_user_who_captured_it(live):
    recorder = _token(live, "uk-recorder", "capture")  # no region yet: the US default
    ids = _capture(live, recorder, {"uk-1": LONDON, "uk-2": "0207 946 0958"})
    others = _capture(live, live.token("capture"), {"us-recorder": LONDON})
    assert not any(_marked(live.runtime).values())

    set_user_region(live.runtime.engine, "uk-recorder", "GB")
    assert _counts(Reindexer(live.runtime).run()) == (3, 2, 1, 0)
    marked = _marked(live.runtime)
    assert (marked[ids["uk-1"]], marked[ids["uk-2"]]) == (True, True)
    assert marked[others["us-recorder"]] is False  # its recorder's region is still the US
    assert _preview(live, "+442079460958") == ["uk-1", "uk-2"]


def test_calls_stored_before_the_mark_are_marked_truly(live):
    ids = _capture(
        live,
        live.token("capture"),
        {"short": "12", "prefixed": "0044 20 7946 0958", "good": "(512) 555-0111"},
    )
    with live.runtime.engine.begin() as conn:
        # As migration 0017 left calls captured before it: all marked indexed. And a `0044`
        # number captured before the 00 rule has no index entry.
        conn.execute(update(calls).values(customer_indexed=True))
        conn.execute(delete(customer_phones).where(customer_phones.c.call_id == ids["prefixed"]))
    assert _preview(live, "+44 20 7946 0958") == []

    assert _counts(Reindexer(live.runtime).run()) == (3, 1, 1, 0)
    assert _marked(live.runtime) == {ids["short"]: False, ids["prefixed"]: True, ids["good"]: True}
    assert _preview(live, "+44 20 7946 0958") == ["prefixed"]


def test_a_store_built_before_is_left_as_it_was(live):
    seeded = seed_calls(live.runtime, 40, seed=7, session_prefix="seed-")
    _capture(live, live.token("capture"), {"ext": "(512) 555-0300 x12", "intl": "+52 55 1234 5678"})
    with live.client(live.token("capture")) as client:
        info = v2_customer_info("v2-email", phone="(512) 555-0112", email="Q@Example.com")
        assert post_v2_call(client, info).status_code == 200
    with live.runtime.engine.begin() as conn:
        # A call whose erasure is accepted is not read at all.
        conn.execute(update(calls).where(calls.c.call_id == seeded[0]).values(status="Purging"))
    before = _index(live.runtime)

    for runtime in (live.runtime, _in_region(live.runtime, "MX")):
        assert _counts(Reindexer(runtime, page=7).run()) == (42, 0, 0, 0)
        assert _index(live.runtime) == before
