"""Whose calls a customer purge reaches: extensions matched exactly (contract §19), and national
numbers read in the region of the recorder that captured them (issue 12, items 5 and 6)."""

from __future__ import annotations

import pytest

from callvault.auth.users import create_user
from helpers import call_info

pytestmark = pytest.mark.both_backends


def _token_for(live, *permissions: str, region: str | None = None) -> str:
    import httpx

    creds = create_user(
        live.runtime.engine, f"u-{len(permissions)}-{region}", list(permissions), region=region
    )
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


def _capture_customers(live, capture, token: str, phones: dict[str, str]) -> dict[str, str]:
    ids = {}
    with live.client(token) as client:
        for session, phone in phones.items():
            info = call_info(session, contacts=[{"type": "Customer", "phoneNumber": phone}])
            answer = capture(client, info)
            assert answer.status_code == 200, answer.text
            ids[session] = answer.json()["callId"]
    return ids


def _preview(live, token: str, phone: str) -> list[str]:
    with live.client(token) as client:
        answer = client.post("/purge/v1/calls/customer?whatIf=true", json={"phoneNumber": phone})
    assert answer.status_code == 200, answer.text
    return sorted(item["sessionId"] for item in answer.json()["items"])


def test_a_purge_reaches_only_the_same_extension(live, capture):
    _capture_customers(
        live,
        capture,
        live.token("capture"),
        {
            "x12": "(512) 555-0300 x12",
            "x12-again": "+1 512 555 0300 ext. 12",
            "x34": "(512) 555-0300 x34",
            "bare": "(512) 555-0300",
        },
    )
    purger = live.token("purge")
    assert _preview(live, purger, "(512) 555-0300 x12") == ["x12", "x12-again"]
    assert _preview(live, purger, "+15125550300;ext=34") == ["x34"]
    assert _preview(live, purger, "512-555-0300") == ["bare"]
    assert _preview(live, purger, "512-555-0300 x99") == []
    with live.client(purger) as client:
        real = client.post("/purge/v1/calls/customer", json={"phoneNumber": "5125550300 #12"})
    assert sorted(i["sessionId"] for i in real.json()["items"]) == ["x12", "x12-again"]


def test_a_recorder_in_mexico_indexes_national_numbers_as_mexican(live, capture):
    mx = _token_for(live, "capture", "read", region="MX")
    ids = _capture_customers(live, capture, mx, {"cdmx": "55 1234 5678"})
    with live.client(mx) as client:
        doc = client.get(f"/calls/v1/{ids['cdmx']}").json()
    assert doc["contacts"][0]["phoneE164"] == "+525512345678"
    us_purger = live.token("purge")  # the instance's default region, US
    assert _preview(live, us_purger, "+52 55 1234 5678") == ["cdmx"]
    assert _preview(live, us_purger, "(551) 234-5678") == []
    # A purger with the recorder's region may give the number as the recorder did.
    assert _preview(live, _token_for(live, "purge", region="MX"), "55 1234 5678") == ["cdmx"]


def test_a_recorder_without_a_region_uses_the_instance_default(live, capture):
    ids = _capture_customers(live, capture, live.token("capture", "read"), {"us": "55 1234 5678"})
    with live.client(live.token("read")) as client:
        doc = client.get(f"/calls/v1/{ids['us']}").json()
    assert doc["contacts"][0]["phoneE164"] == "+15512345678"


def test_an_international_prefix_is_one_number_for_capture_purge_and_hold(live, capture):
    # Issue 33 item 10: `0044 …` under the US region was stored unindexed, so a hold covered
    # five of the customer's six calls and a purge would have missed the sixth.
    spellings = {
        "uk-1": "+44 20 7946 0958",
        "uk-2": "+442079460958",
        "uk-3": "+44 (0)20 7946 0958",
        "uk-4": "011 44 20 7946 0958",
        "uk-5": "+44-20-7946-0958",
        "uk-6": "0044 20 7946 0958",
    }
    ids = _capture_customers(live, capture, live.token("capture"), spellings)
    purger = live.token("purge")
    assert _preview(live, purger, "+44 20 7946 0958") == sorted(spellings)
    assert _preview(live, purger, "0044 20 7946 0958") == sorted(spellings)
    with live.client(live.token("hold")) as client:
        hold = client.post(
            "/holds/v1",
            json={"matter": "M-1", "reason": "notice", "phoneNumbers": ["0044 20 7946 0958"]},
        )
    assert hold.status_code == 201, hold.text
    assert hold.json()["coveredCalls"] == 6
    assert hold.json()["scope"]["phoneNumbers"] == ["+442079460958"]
    with live.client(live.token("read")) as client:
        doc = client.get(f"/calls/v1/{ids['uk-6']}").json()
    assert doc["contacts"][0]["phoneE164"] == "+442079460958"
    assert doc["customerIndexed"] is True
