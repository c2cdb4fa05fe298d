"""An unknown query parameter on an endpoint that takes whatIf is a 400 and changes nothing, and
so is confirm given twice (contract §19, "A preview never erases")."""

from __future__ import annotations

import pytest

from helpers import call_info, post_call

pytestmark = pytest.mark.both_backends

PHONE = "+1 512 555 0101"
V1_CUSTOMER, V2_CUSTOMER = "/purge/v1/calls/customer", "/interactions/v2/purge/customer"
TWICE = [("confirm", "a"), ("confirm", "b")]


@pytest.mark.parametrize(
    ("path", "params", "mentions"),
    [
        ("/purge/v1/calls", {"dryRun": "true"}, "dryRun"),
        ("/purge/v1/calls/sessions", {"preview": "1"}, "preview"),
        (V1_CUSTOMER, {"whatif ": "x"}, "whatif"),
        (V1_CUSTOMER, TWICE, "confirm"),
        ("/interactions/v2/purge", {"test": "1"}, "test"),
        ("/interactions/v2/purge", {"confirm": "x"}, "confirm"),
        (V2_CUSTOMER, {"Suppress_": "1"}, "Suppress_"),
    ],
)
def test_an_unknown_query_parameter_on_a_purge_is_a_400(live, path, params, mentions):
    contacts = [{"type": "Customer", "phoneNumber": PHONE}]
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("uq", contacts=contacts)).json()["callId"]
    body = {
        "/purge/v1/calls": {"ids": [call_id]},
        "/purge/v1/calls/sessions": {"ids": ["uq"]},
        V1_CUSTOMER: {"phoneNumber": PHONE},
        "/interactions/v2/purge": {"ids": [call_id]},
        V2_CUSTOMER: {"phoneNumbers": [PHONE]},
    }[path]
    with live.client(live.token("purge", "audit")) as client:
        answer = client.post(path, params=params, json=body)
        assert answer.status_code == 400, answer.text
        assert mentions in answer.json()["detail"]
        assert client.get("/purge/v1/requests").json()["requests"] == []
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 200


def test_an_unknown_query_parameter_on_a_retention_change_is_a_400(live):
    with live.client(live.token("retention")) as client:
        answer = client.put(
            "/retention/v1/policies/p", params={"dry": "1"}, json={"maxAgeDays": 30}
        )
        assert answer.status_code == 400, answer.text
        assert "dry" in answer.json()["detail"]
        assert client.get("/retention/v1/policies").json()["policies"] == []
