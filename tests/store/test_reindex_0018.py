"""Migration 0018 re-indexes the calls stored before it (contract §16, §19; issue 32, item 5).

Before it, capture indexed a contact only when its type was exactly ``customer`` in some case
(``"Customer "``, ``"customer\\t"``, ``" CUSTOMER"`` were never indexed), and an e-mail address
under ``mailto:`` + the address trimmed and lower-cased. A store is built as that code left it:
calls captured through today's capture path into a store at revision 0017, their blind-index
entries then rewritten to exactly what the old rules made. Opening the store upgrades it; after
that, customer purges and holds find every such call by phone and by any spelling of its
e-mail, on both backends, and entries of the old e-mail rule are gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select

from callvault.api.app import create_app
from callvault.audit.trail import AuditTrail
from callvault.capture.info import parse_v2_info
from callvault.capture.service import CaptureService
from callvault.phone import index_form
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store import audit as audit_store
from callvault.store.engine import make_engine, write_transaction
from callvault.store.migrate import alembic_config, upgrade
from callvault.store.reindex import reindex_marked
from callvault.store.tables import audit_events, calls, calls_to_reindex, customer_phones
from callvault.store.types import utcnow
from helpers import LiveServer, serve_in_thread, v2_customer_info, wav_bytes

pytestmark = pytest.mark.both_backends

PHONE = "+1 512 555 0181"
UNPARSEABLE = "555-01"  # a number (digits) that no reading in US makes a phone number


def _old_index_forms(participants: list[dict[str, Any]], region: str) -> set[str]:
    """The forms the code before 0018 indexed a call's contacts by (capture/info.py and
    emails.py as they were): ``type.lower() == "customer"``; ``mailto:`` + e-mail trimmed and
    lower-cased."""
    forms = set()
    for contact in participants:
        if contact["type"].lower() != "customer":
            continue
        if contact.get("phoneNumber"):
            form = index_form(contact["phoneNumber"], region)
            if form is not None:
                forms.add(form)
        if contact.get("email"):
            forms.add("mailto:" + contact["email"].strip().lower())
    return forms


def _downgrade(settings: Settings, revision: str) -> None:
    engine = make_engine(settings.resolved_database_url)
    config = alembic_config()
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    engine.dispose()


def _capture(runtime: Runtime, info: dict[str, Any]) -> str:
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=info\r\n\r\n".encode()
        + json.dumps(info).encode()
        + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=data\r\n"
        "Content-Type: audio/wav\r\n\r\n".encode()
        + wav_bytes(0.1)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def stream() -> Any:
        yield body

    service = CaptureService(runtime)
    # A store at 0017 chains its audit events at once and has no mac column (migration 0027).
    service.trail.append = _append_before_0027  # type: ignore[method-assign]
    # A store at 0017 has no suppressions (migration 0022): none is in force there.
    service.suppressions.in_force = lambda digests: []  # type: ignore[method-assign]
    service.suppressions.forget_refused = lambda *args, **kwargs: None  # type: ignore[method-assign]
    return asyncio.run(
        service.capture(
            f"multipart/form-data; boundary={boundary}", stream(), "recorder", parse=parse_v2_info
        )
    )


def _append_before_0027(conn: Any, events: list[Any]) -> None:
    """Events as a store before migration 0027 held them: chained in place, no ``mac`` (the
    hashes were keyed then; 0027 re-chains them, so any link will do here)."""
    seq, prev = audit_store.head(conn) or (0, "0" * 64)
    rows = []
    for event in events:
        seq += 1
        digest = hashlib.sha256(f"{prev}{seq}{event.action}".encode()).hexdigest()
        rows.append(
            {
                "seq": seq,
                "at": utcnow(),
                "actor": event.actor,
                "action": event.action,
                "request_id": event.request_id,
                "call_id": event.call_id,
                "session_id": event.session_id,
                "details": json.dumps(event.details, sort_keys=True, separators=(",", ":")),
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn.execute(insert(audit_events), rows)


def _as_old_code_indexed(runtime: Runtime, call_id: str, info: dict[str, Any]) -> None:
    """Replace the call's blind-index entries by those the code before 0018 made."""
    blind = runtime.keys.blind_index
    forms = _old_index_forms(info["participants"], runtime.settings.default_region)
    with write_transaction(runtime.engine) as conn:
        conn.execute(delete(customer_phones).where(customer_phones.c.call_id == call_id))
        if forms:
            conn.execute(
                insert(customer_phones),
                [{"digest": blind(f), "call_id": call_id} for f in sorted(forms)],
            )


def _info(contact_type: str, phone: str | None = PHONE, email: str | None = None) -> dict:
    info = v2_customer_info(f"old-{uuid.uuid4()}", phone, email)
    info["participants"][1]["type"] = contact_type
    return info


# name -> (info, found by the phone, found by the e-mail)
OLD_CALLS = {
    "exact": (_info("Customer", email="jane@example.com"), True, True),
    "trailing space": (_info("Customer "), True, False),
    "tab": (_info("customer\t"), True, False),
    "leading space, capitals": (_info(" CUSTOMER"), True, False),
    "idn e-mail": (_info("Customer", phone=None, email="Zoë@Bücher.de"), False, True),
    "full-width e-mail": (_info("customer", phone=None, email="ｚｏë@bücher.de"), False, True),
    "eszett e-mail": (_info("CUSTOMER", phone=None, email="Straße@Example.org"), False, True),
    "spaced type, idn e-mail": (_info("Customer ", phone=None, email="zoë@BÜCHER.de"), False, True),
    "agent only": (_info("Agent", email="zoë@bücher.de"), False, False),
}


@pytest.fixture
def old_store(settings: Settings) -> tuple[Settings, dict[str, str]]:
    """A store at 0017 holding OLD_CALLS as the code before 0018 indexed them."""
    _downgrade(settings, "0017")
    runtime = Runtime.open(settings, migrate=False)
    try:
        ids = {}
        for name, (info, _, _) in OLD_CALLS.items():
            ids[name] = _capture(runtime, info)
            _as_old_code_indexed(runtime, ids[name], info)
        unparseable = _info(" customer ", phone=UNPARSEABLE)
        ids["unparseable"] = _capture(runtime, unparseable)
        _as_old_code_indexed(runtime, ids["unparseable"], unparseable)
    finally:
        runtime.close()
    return settings, ids


def _serve(runtime: Runtime, settings: Settings) -> tuple[Any, Any, LiveServer]:
    app = create_app(settings, runtime)
    server, thread, port = serve_in_thread(app, settings)
    return server, thread, LiveServer(f"http://127.0.0.1:{port}", runtime, port, app.state)


def _found(live: LiveServer, body: dict[str, Any]) -> set[str]:
    with live.client(live.token("purge")) as client:
        answer = client.post(
            "/interactions/v2/purge/customer",
            json={**body, "allowIncompleteInteraction": True},
            params={"whatIf": "true"},
        )
    assert answer.status_code == 200, answer.text
    return {i["id"] for i in answer.json()["items"]}


def test_the_old_store_misses_what_0018_finds(old_store):
    """The starting point is what the issue describes: before the upgrade, the index holds the
    phone of 1 of the 4 Customer calls, and the IDN address only in its old, lower-cased form."""
    settings, _ = old_store
    runtime = Runtime.open(settings, migrate=False)
    try:
        blind = runtime.keys.blind_index
        with runtime.engine.connect() as conn:
            digests = set(conn.execute(select(customer_phones.c.digest)).scalars())
        phone = blind(index_form(PHONE, "US") or "")
        assert phone in digests
        with runtime.engine.connect() as conn:
            by_phone = conn.execute(
                select(func.count()).where(customer_phones.c.digest == phone)
            ).scalar()
        assert by_phone == 1
        assert blind("mailto:zoë@xn--bcher-kva.de") not in digests
        assert blind("mailto:zoë@bücher.de") in digests  # the old rule's form
    finally:
        runtime.close()


def test_opening_the_store_re_indexes_every_call_under_today_s_rules(old_store):
    settings, ids = old_store
    runtime = Runtime.open(settings)  # upgrades to head: 0018 marks, the opening re-indexes
    # 0027 re-chained the older events in today's public form: the chain verifies.
    checked, problem = AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)
    assert problem is None
    assert checked >= len(ids)
    server, thread, live = _serve(runtime, settings)
    try:
        with runtime.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(calls_to_reindex)).scalar() == 0
        by_phone = {name for name, (_, phone, _) in OLD_CALLS.items() if phone}
        assert _found(live, {"phoneNumbers": [PHONE]}) == {ids[n] for n in by_phone}
        for spelling in ("zoë@xn--bcher-kva.de", "ZOË@bücher.de", "ｚｏë@ＢÜＣＨＥＲ.de"):
            assert _found(live, {"emails": [spelling]}) == {
                ids["idn e-mail"],
                ids["full-width e-mail"],
                ids["spaced type, idn e-mail"],
            }, spelling
        assert _found(live, {"emails": ["strasse@example.org"]}) == {ids["eszett e-mail"]}
        assert _found(live, {"emails": ["JANE@example.com"]}) == {ids["exact"]}
        with live.client(live.token("hold")) as client:
            hold = client.post(
                "/holds/v1", json={"matter": "M", "reason": "R", "phoneNumbers": [PHONE]}
            )
            assert hold.status_code == 201, hold.text
            assert hold.json()["coveredCalls"] == len(by_phone)
        with live.client(live.token("read")) as client:
            indexed = {
                name: client.get(f"/calls/v1/{call_id}").json()["customerIndexed"]
                for name, call_id in ids.items()
            }
        assert indexed == {**dict.fromkeys(OLD_CALLS, True), "unparseable": False}
        # The old rule's entries are gone; no call has an entry it should not.
        blind = runtime.keys.blind_index
        with runtime.engine.connect() as conn:
            digests = set(conn.execute(select(customer_phones.c.digest)).scalars())
            agent_only = set(
                conn.execute(
                    select(customer_phones.c.digest).where(
                        customer_phones.c.call_id == ids["agent only"]
                    )
                ).scalars()
            )
        assert blind("mailto:zoë@bücher.de") not in digests
        assert blind("mailto:straße@example.org") not in digests
        assert agent_only == set()
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        runtime.close()


def test_the_re_index_is_done_once_and_survives_an_interruption(old_store):
    """Marked calls are re-indexed a page at a time, each page with its marks in one
    transaction: a second run (another process, a restart after a crash) redoes nothing."""
    settings, ids = old_store
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)  # as `callvault db upgrade` would, without the key store: marks only
    with engine.connect() as conn:
        marked = set(conn.execute(select(calls_to_reindex.c.call_id)).scalars())
    engine.dispose()
    assert marked == {ids[n] for n in ids if n != "agent only"}
    runtime = Runtime.open(settings, migrate=False)
    try:
        first = reindex_marked(
            runtime.engine, runtime.keystore, runtime.keys, runtime.settings.default_region, page=3
        )
        assert first == len(marked)
        with runtime.engine.connect() as conn:
            before = set(conn.execute(select(customer_phones.c.digest, customer_phones.c.call_id)))
            with write_transaction(runtime.engine) as writer:
                writer.execute(insert(calls_to_reindex), [{"call_id": ids["exact"]}])
        again = reindex_marked(
            runtime.engine, runtime.keystore, runtime.keys, runtime.settings.default_region
        )
        assert again == 1
        with runtime.engine.connect() as conn:
            after = set(conn.execute(select(customer_phones.c.digest, customer_phones.c.call_id)))
            statuses = dict(conn.execute(select(calls.c.call_id, calls.c.status)).all())
        assert after == before
        assert set(statuses) == set(ids.values())
    finally:
        runtime.close()
