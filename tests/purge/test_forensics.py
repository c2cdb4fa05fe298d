"""Forensic proof of erasure (contract §7) on the embedded store.

After a purge completes, no byte of a purged call survives anywhere under the data directory:
not its plaintext values, not its ciphertext, not its wrapped data key. The same scan does find a
live call's wrapped key and ciphertext, so it is able to fail. And a backup taken before the purge
cannot be decrypted afterwards with the master key and the live key store.
"""

from __future__ import annotations

import shutil
import sqlite3
import time

from sqlalchemy import select

from callvault.crypto import CallCipher, DecryptionError
from callvault.store.engine import checkpoint
from callvault.store.tables import calls
from helpers import call_info, files_under, wav_bytes


def _personal(tag: str) -> dict[str, str]:
    return {
        "first": f"Firstname{tag}Qz",
        "last": f"Lastname{tag}Qz",
        "phone": f"(415) 555-{tag}",
        "e164": f"+1415555{tag}",
        "ref": f"REF-{tag}-XYZ",
        "dialed": f"+1 212 555 {tag}",
        "meta": f"META-{tag}-VALUE",
        "master": f"MASTER-{tag}-ID",
        "audio": f"AUDIO-{tag}-MARKER",
    }


def _info(session_id: str, p: dict[str, str]) -> dict:
    return call_info(
        session_id,
        masterCallId=p["master"],
        numberDialed=p["dialed"],
        metadata={"note": p["meta"], "tags": [p["meta"] + "-2"]},
        contacts=[
            {"type": "Agent", "firstName": "Agentname", "referenceId": p["ref"]},
            {
                "type": "Customer",
                "phoneNumber": p["phone"],
                "firstName": p["first"],
                "lastName": p["last"],
            },
        ],
    )


def _stored_secrets(runtime, call_id: str) -> dict[str, bytes]:
    """The call's wrapped key, sealed details and a slice of its audio ciphertext, as stored."""
    with runtime.engine.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().one()
    handle, size = runtime.blobs.open(row["blob_key"])
    with handle:
        blob = handle.read()
    wrapped = runtime.keystore.get(call_id)
    assert wrapped is not None
    return {
        "wrapped key": wrapped,
        "sealed details": bytes(row["sealed"])[12:60],
        "audio ciphertext head": blob[8:72],
        "audio ciphertext middle": blob[size // 2 : size // 2 + 64],
    }


def _checkpointed(runtime) -> None:
    """Wait until both WALs are folded back. A reader (this test's own status polls, on a loaded
    machine) can keep the eraser's checkpoint from completing; the worker then retries it, and
    only after that are the erased pages gone (the README says so). This is that retry, done
    here so the scan does not race it."""
    deadline = time.monotonic() + 30
    while not (checkpoint(runtime.engine) and runtime.keystore.checkpoint()):
        assert time.monotonic() < deadline, "a WAL checkpoint stayed blocked for 30 s"
        time.sleep(0.05)


def _scan(root) -> bytes:
    return b"".join(p.read_bytes() for p in files_under(root))


def _wait_complete(client, request_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] != "Purging":
            return doc
        time.sleep(0.05)
    raise AssertionError("purge did not complete")


def _capture_set(live, capture, tags):
    ids, personal = {}, {}
    with live.client(live.token("capture")) as client:
        for tag in tags:
            personal[tag] = _personal(tag)
            audio = wav_bytes(3, marker=personal[tag]["audio"].encode())
            answer = capture(client, _info(f"sess-{tag}", personal[tag]), audio)
            assert answer.status_code == 200
            ids[tag] = answer.json()["callId"]
        for tag in tags:  # let processing finish so no read is in flight
            deadline = time.monotonic() + 30
            while client.get(f"/callCapture/v1/status/sess-{tag}").json()["status"] != "Complete":
                assert time.monotonic() < deadline
                time.sleep(0.05)
    return ids, personal


def test_no_byte_of_a_purged_call_survives_under_the_data_dir(live, capture):
    tags = ["1001", "1002", "1003", "2001", "2002"]
    ids, personal = _capture_set(live, capture, tags)
    purged, kept = tags[:3], tags[3:]
    secrets = {tag: _stored_secrets(live.runtime, ids[tag]) for tag in tags}

    with live.client(live.token("purge")) as client:
        by_call = client.post("/purge/v1/calls", json={"ids": [ids["1001"]]}).json()
        by_session = client.post("/purge/v1/calls/sessions", json={"ids": ["sess-1002"]}).json()
        by_phone = client.post(
            "/purge/v1/calls/customer", json={"phoneNumber": personal["1003"]["e164"]}
        ).json()
        for answer in (by_call, by_session, by_phone):
            assert _wait_complete(client, answer["requestId"])["state"] == "Complete"

    _checkpointed(live.runtime)
    disk = _scan(live.runtime.settings.data_dir)
    for tag in purged:
        for name, value in personal[tag].items():
            assert value.encode() not in disk, f"{name} of purged call {tag} found"
        for name, value in secrets[tag].items():
            assert value not in disk, f"{name} of purged call {tag} found"
    for tag in kept:
        for name, value in secrets[tag].items():
            assert value in disk, f"{name} of live call {tag} missing: the scan is blind"
        for name, value in personal[tag].items():
            assert value.encode() not in disk, f"{name} of live call {tag} is in clear"


def test_a_backup_taken_before_the_purge_cannot_be_decrypted_after_it(live, capture, tmp_path):
    ids, _ = _capture_set(live, capture, ["3001", "3002"])
    data_dir = live.runtime.settings.data_dir
    backup = tmp_path / "backup"
    backup.mkdir()
    source = sqlite3.connect(data_dir / "callvault.db")
    target = sqlite3.connect(backup / "callvault.db")
    source.backup(target)
    source.close()
    target.close()
    shutil.copytree(data_dir / "blobs", backup / "blobs")

    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [ids["3001"]]}).json()
        _wait_complete(client, answer["requestId"])

    restored = sqlite3.connect(backup / "callvault.db")
    rows = dict(restored.execute("SELECT call_id, sealed FROM calls").fetchall())
    restored.close()
    assert set(rows) == {ids["3001"], ids["3002"]}  # the backup does hold both calls
    keys, keystore = live.runtime.keys, live.runtime.keystore

    def try_open(call_id: str) -> bytes:
        wrapped = keystore.get(call_id)
        if wrapped is None:
            raise DecryptionError("no data key")
        return CallCipher(call_id, keys.unwrap(call_id, wrapped)).open(rows[call_id], "details")

    assert b"3002" in try_open(ids["3002"])  # the live call's copy decrypts: the check can pass
    try:
        try_open(ids["3001"])
    except DecryptionError:
        pass
    else:
        raise AssertionError("the purged call's backup copy decrypted")
    # Brute force over every key left in the key store does not open it either.
    import sqlite3 as _sqlite

    ks = _sqlite.connect(data_dir / "keystore.db")
    wrapped_all = ks.execute("SELECT call_id, wrapped FROM data_keys").fetchall()
    ks.close()
    for owner, wrapped in wrapped_all:
        key = keys.unwrap(owner, wrapped)
        try:
            CallCipher(ids["3001"], key).open(rows[ids["3001"]], "details")
        except DecryptionError:
            continue
        raise AssertionError("another call's key opened the purged call")
