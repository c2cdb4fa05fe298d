"""Tethr v2's routes are v1's handlers with v2's shapes (issue 34): a rule written once, in the
v1 module, reaches both APIs.

Each v2 route is built from the same handler as its v1 twin (the same code, another ``Shape``);
a rule patched into the one place answers on both; and what the handlers check today (a
``whatIf`` in the body or spelled wrong in the query, an unknown key) answers alike on both.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from callvault.api.app import create_app
from callvault.api.routes import capture, purge, status
from callvault.api.routes.shapes import V1, V2
from callvault.errors import Conflict
from callvault.settings import Settings
from helpers import call_info, post_call, post_v2_call, v2_customer_info

# operationId of a v1 route -> that of its v2 twin.
TWINS = {
    "purge_calls": "purge_interactions_v2",
    "purge_sessions": "purge_sessions_v2",
    "purge_customer": "purge_customer_v2",
    "call_status": "session_statuses_v2",
    "call_status_one": "session_status_v2",
    "exclude_calls": "exclude_sessions_v2",
    "capture_call": "capture_call_v2",
}

# (v1 path, v1 body, v2 path, v2 body) of the three purges.
PURGES = [
    ("/purge/v1/calls", {"ids": ["c-1"]}, "/interactions/v2/purge", {"ids": ["c-1"]}),
    (
        "/purge/v1/calls/sessions",
        {"ids": ["s-1"]},
        "/interactions/v2/purge/sessions",
        {"ids": ["s-1"]},
    ),
    (
        "/purge/v1/calls/customer",
        {"phoneNumber": "+1 512 555 0199"},
        "/interactions/v2/purge/customer",
        {"phoneNumbers": ["+1 512 555 0199"]},
    ),
]


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's API routes, through its included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


@pytest.fixture(scope="module")
def by_operation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, APIRoute]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))
    return {r.operation_id: r for r in api_routes(app.routes) if r.operation_id}


@pytest.mark.parametrize(("v1", "v2"), TWINS.items())
def test_a_v2_route_is_its_v1_twins_handler_in_v2s_shape(by_operation, v1, v2):
    one, two = by_operation[v1].endpoint, by_operation[v2].endpoint
    # One handler: the same code, built twice by the v1 module's route function.
    assert one.__code__ is two.__code__, f"{v2} has a handler of its own"
    assert one.__module__ == two.__module__
    assert one.__module__ in {purge.__name__, status.__name__, capture.__name__}
    shapes = [inspect.getclosurevars(f).nonlocals.get("shape") for f in (one, two)]
    assert shapes in ([V1, V2], [None, None]), shapes  # exclusion answers {} in both
    # What differs is declared: the body model (and so the OpenAPI document), nothing else.
    names = [list(inspect.signature(f).parameters) for f in (one, two)]
    assert names[0] == names[1]


# (what is wrong, the body spoiled, the query): each answered alike by a v1 purge and its twin.
SPOILED: list[tuple[str, Callable[[dict[str, Any]], Any], dict[str, Any]]] = [
    ("whatIf in the body", lambda body: {**body, "whatIf": True}, {}),
    ("whatIf neither true nor false", lambda body: body, {"whatIf": "maybe"}),
    ("whatIf spelled otherwise", lambda body: body, {"what_if": "true"}),
    ("whatIf given twice", lambda body: body, {"whatIf": ["true", "false"]}),
    ("not an object", lambda body: [body], {"whatIf": "true"}),
    ("an unknown key", lambda body: {**body, "noSuchKey": 1}, {"whatIf": "true"}),
]


def outcome(answer: httpx.Response) -> tuple[int, str, str | None]:
    return answer.status_code, answer.headers["content-type"], answer.json().get("title")


@pytest.mark.parametrize(("v1", "v1_body", "v2", "v2_body"), PURGES)
def test_the_purge_rules_answer_alike_in_both_dialects(live, v1, v1_body, v2, v2_body):
    with live.client(live.token("purge")) as client:
        seen = {}
        for why, spoil, query in SPOILED:
            one = client.post(v1, json=spoil(v1_body), params=query)
            two = client.post(v2, json=spoil(v2_body), params=query)
            assert outcome(one) == outcome(two), (why, one.text, two.text)
            seen[why] = one.status_code
    # The known answers, so that "alike" is not "alike but wrong".
    assert seen == {
        "whatIf in the body": 400,
        "whatIf neither true nor false": 400,
        "whatIf spelled otherwise": 400,
        "whatIf given twice": 400,
        "not an object": 400,
        "an unknown key": 400,  # fails closed (contract §19)
    }


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise Conflict("a rule added once")


class _RefusingReader:
    """A CallReader whose every read is refused by the new rule."""

    def __init__(self, _runtime: Any) -> None:
        self.statuses = self.exclude = _refuse


def _purge_both(live) -> list[httpx.Response]:
    with live.client(live.token("purge")) as client:
        return [
            client.post(path, json=body)
            for v1, v1_body, v2, v2_body in PURGES
            for path, body in ((v1, v1_body), (v2, v2_body))
        ]


def _status_both(live) -> list[httpx.Response]:
    with live.client(live.token("capture")) as client:
        return [
            client.post("/callCapture/v1/status", json={"CallSessionIds": ["s-1"]}),
            client.post("/capture/v2/status", json={"sessionIds": ["s-1"]}),
            client.get("/callCapture/v1/status/s-1"),
            client.get("/capture/v2/status/s-1"),
            client.post("/callCapture/v1/status/exclude", json={"CallSessionIds": ["s-1"]}),
            client.post("/capture/v2/status/exclude", json={"sessionIds": ["s-1"]}),
        ]


def _capture_both(live) -> list[httpx.Response]:
    session_id = f"twin-{uuid.uuid4()}"
    with live.client(live.token("capture")) as client:
        return [
            post_call(client, call_info(session_id)),
            post_v2_call(client, v2_customer_info(session_id, None, None)),
        ]


@pytest.mark.parametrize(
    ("module", "name", "replacement", "ask"),
    [
        (purge, "what_if_of", _refuse, _purge_both),
        (status, "CallReader", _RefusingReader, _status_both),
        (capture, "check_length", _refuse, _capture_both),
    ],
    ids=["purge", "status", "capture"],
)
def test_a_rule_added_in_one_place_reaches_v1_and_v2(
    live,
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
    replacement: Any,
    ask: Callable[[Any], list[httpx.Response]],
):
    """The rule is added where v1's handler finds it, and nowhere else: v2 answers it too."""
    assert hasattr(module, name)
    monkeypatch.setattr(module, name, replacement)
    for answer in ask(live):
        assert answer.status_code == 409, (answer.request.url, answer.text)
        assert answer.json()["detail"] == "a rule added once"
