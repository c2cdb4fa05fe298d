"""The fault-injection harness: real traffic, SIGKILL at a random moment, restart, check.

Each round starts `callvault serve` on one data dir, drives capture and purge traffic from
client threads for a random time, then kills the server with SIGKILL mid-flight. After the last
round the server runs once more until every accepted purge is done, the orphan sweeper runs, and
the invariants are checked:

- every acknowledged capture that nobody purged is readable and intact (details and audio);
- every accepted purge completed: its calls have no row, no key and no blob; a purge whose answer
  the kill swallowed may or may not have been accepted, so its calls are either intact or erased
  whole, and no request is left Purging;
- a capture cut off by the kill either does not exist or is intact (never half-stored);
- no blob without a row, no row without its blob, no key without a row;
- `PRAGMA integrity_check` is ok on both databases and the audit chain verifies.

Used by tests/purge/test_fault_injection.py (a few dozen rounds) and bench/fault_harness.py
(hundreds).
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from callvault.audit.trail import AuditTrail
from callvault.auth.users import create_user
from callvault.capture.reads import CallReader
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.keystore import data_keys
from callvault.store.tables import calls
from helpers import TLS, call_info, start_serve, wav_bytes


@dataclass
class Ledger:
    """What the clients were told, which is what the invariants are checked against."""

    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # session -> (call, sha)
    attempted: dict[str, str] = field(default_factory=dict)  # session -> audio sha, unanswered
    purged: set[str] = field(default_factory=set)  # call IDs in accepted purges
    # Call IDs in purges sent but never answered (the server died): accepted or not, unknown.
    unanswered: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Report:
    rounds: int
    captures_acked: int
    captures_cut_off: int
    purges_accepted: int
    calls_purged: int
    violations: list[str]


def _token(url: str, client_id: str, secret: str) -> str:
    answer = httpx.post(
        f"{url}/Token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        verify=TLS,
        timeout=30,
    )
    return str(answer.json()["access_token"])


def _client(url: str, token: str, timeout: float = 10) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=url, headers=headers, timeout=timeout, verify=TLS)


def _capturer(
    url: str, token: str, ledger: Ledger, rng: random.Random, stop: threading.Event, prefix: str
) -> None:
    n = 0
    with _client(url, token) as c:
        while not stop.is_set():
            session = f"{prefix}-{n}"
            n += 1
            audio = wav_bytes(rng.uniform(0.05, 0.6), marker=session.encode())
            sha = hashlib.sha256(audio).hexdigest()
            with ledger.lock:
                ledger.attempted[session] = sha
            files = {
                "info": (None, json.dumps(call_info(session)).encode(), "application/json"),
                "data": ("a.wav", audio, "audio/wav"),
            }
            try:
                answer = c.post("/callCapture/v1/archive", files=files)
            except httpx.HTTPError:
                return  # the server died mid-request: the outcome is unknown
            if answer.status_code == 200:
                with ledger.lock:
                    ledger.attempted.pop(session, None)
                    ledger.acked[session] = (answer.json()["callId"], sha)


def _purger(
    url: str, token: str, ledger: Ledger, rng: random.Random, stop: threading.Event
) -> None:
    with _client(url, token) as c:
        while not stop.is_set():
            with ledger.lock:
                candidates = [
                    (s, cid) for s, (cid, _) in ledger.acked.items() if cid not in ledger.purged
                ]
            if len(candidates) < 3:
                time.sleep(0.02)
                continue
            batch = rng.sample(candidates, min(len(candidates), rng.randint(1, 8)))
            by_session = rng.random() < 0.5
            body = {"ids": [s if by_session else cid for s, cid in batch]}
            path = "/purge/v1/calls/sessions" if by_session else "/purge/v1/calls"
            try:
                answer = c.post(path, json=body)
            except httpx.HTTPError:
                # Not acknowledged: the kill may have come after the commit, before the answer.
                with ledger.lock:
                    ledger.unanswered.update(cid for _, cid in batch)
                return
            if answer.status_code == 200:
                with ledger.lock:
                    ledger.purged.update(cid for _, cid in batch)
                    ledger.requests.append(answer.json()["requestId"])
            time.sleep(rng.uniform(0.0, 0.05))


def run_rounds(data_dir: Path, rounds: int, seed: int) -> Report:
    rng = random.Random(seed)
    settings = Settings(data_dir=data_dir)
    runtime = Runtime.open(settings)
    creds = create_user(runtime.engine, "faults", ["capture", "purge"])
    runtime.close()
    ledger = Ledger()
    for number in range(rounds):
        proc, url = start_serve(data_dir)
        token = _token(url, creds.client_id, creds.client_secret)
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_capturer,
                args=(url, token, ledger, random.Random(rng.random()), stop, f"r{number}a"),
            ),
            threading.Thread(
                target=_capturer,
                args=(url, token, ledger, random.Random(rng.random()), stop, f"r{number}b"),
            ),
            threading.Thread(
                target=_purger, args=(url, token, ledger, random.Random(rng.random()), stop)
            ),
        ]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)  # mid-flight, whatever the server is doing
        proc.wait()
        stop.set()
        for thread in threads:
            thread.join()

    violations = _settle_and_check(data_dir, creds.client_id, creds.client_secret, ledger)
    return Report(
        rounds=rounds,
        captures_acked=len(ledger.acked),
        captures_cut_off=len(ledger.attempted),
        purges_accepted=len(ledger.requests),
        calls_purged=len(ledger.purged),
        violations=violations,
    )


def _request(client: httpx.Client, request_id: str) -> dict[str, Any]:
    """A purge request's resource; a thousand rounds' requests are read faster than the per-user
    rate limit allows, so a 429 is waited out as its Retry-After says."""
    while True:
        answer = client.get(f"/purge/v1/requests/{request_id}")
        if answer.status_code != 429:
            assert answer.status_code == 200, (answer.status_code, answer.text)
            doc: dict[str, Any] = answer.json()
            return doc
        time.sleep(float(answer.headers.get("retry-after", "1")))


@dataclass
class Store:
    """The call IDs that still have a row, a wrapped key, a blob."""

    rows: set[str]
    keys: set[str]
    blobs: set[str]

    def has_any(self, call_id: str) -> bool:
        return call_id in self.rows or call_id in self.keys or call_id in self.blobs


def acked_violations(
    ledger: Ledger, store: Store, intact: Callable[[str, str, str], bool]
) -> list[str]:
    """The invariants for the captures the clients were told are stored; ``intact(call_id, sha,
    session)`` reads one back."""
    violations = []
    for session, (call_id, sha) in ledger.acked.items():
        if call_id in ledger.purged:
            if store.has_any(call_id):
                violations.append(f"purged call {call_id} left a row, key or blob")
        elif call_id not in store.rows:
            if call_id not in ledger.unanswered:
                violations.append(f"acknowledged call {call_id} ({session}) is gone")
            elif store.has_any(call_id):
                violations.append(
                    f"call {call_id} ({session}) of an unanswered purge is half-erased"
                )
        elif not intact(call_id, sha, session):
            violations.append(f"acknowledged call {call_id} is not intact")
    return violations


def _purging(data_dir: Path) -> int:
    """Requests still Purging, read beside the running server (SQLite lets a reader in)."""
    db = sqlite3.connect(f"file:{data_dir / 'callvault.db'}?mode=ro", uri=True, timeout=30)
    try:
        query = "SELECT count(*) FROM purge_requests WHERE state = 'Purging'"
        return int(db.execute(query).fetchone()[0])
    finally:
        db.close()


def _settle_and_check(data_dir: Path, client_id: str, secret: str, ledger: Ledger) -> list[str]:
    violations: list[str] = []
    proc, url = start_serve(data_dir)
    try:
        token = _token(url, client_id, secret)
        with _client(url, token, timeout=5) as c:  # httpx's default
            deadline = time.monotonic() + 120
            for rid in ledger.requests:
                while (doc := _request(c, rid))["state"] == "Purging":
                    if time.monotonic() > deadline:
                        violations.append(f"purge request {rid} never completed")
                        break
                    time.sleep(0.05)
                if doc["state"] == "Failed":
                    violations.append(f"purge request {rid} failed")
            # Requests whose answer the kill swallowed are in no ledger: wait for those too.
            while _purging(data_dir):
                if time.monotonic() > deadline:
                    violations.append(f"{_purging(data_dir)} purge requests never completed")
                    break
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    sweep = subprocess.run(
        [
            sys.executable,
            "-m",
            "callvault.cli.main",
            "sweep",
            "--grace-seconds",
            "0",
            "--confirm-seconds",
            "0.2",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if sweep.returncode != 0:
        violations.append(f"sweep failed: {sweep.stderr.strip()}")

    runtime = Runtime.open(Settings(data_dir=data_dir))
    try:
        reader = CallReader(runtime)
        with runtime.engine.connect() as conn:
            rows = {r.call_id: r.session_id for r in conn.execute(select(calls))}
        with runtime.keystore.engine.connect() as conn:
            keys = set(conn.execute(select(data_keys.c.call_id)).scalars())
        blobs = {key.rsplit("/", 1)[-1] for key in runtime.blobs.iter_keys()}

        def intact(call_id: str, sha: str, session: str) -> bool:
            _, _, chunks = reader.audio(call_id, "test")
            audio = b"".join(chunks)
            return (
                hashlib.sha256(audio).hexdigest() == sha
                and reader.details(call_id, "test")["sessionId"] == session
            )

        violations += acked_violations(ledger, Store(set(rows), keys, blobs), intact)
        by_session = {s: cid for cid, s in rows.items()}
        for session, sha in ledger.attempted.items():
            call_id = by_session.get(session)
            if call_id is not None and not intact(call_id, sha, session):
                violations.append(f"cut-off capture {session} was half-stored")
        known = set(rows)
        if blobs - known:
            violations.append(f"{len(blobs - known)} blobs without a row")
        if known - blobs:
            violations.append(f"{len(known - blobs)} rows without a blob")
        if keys - known:
            violations.append(f"{len(keys - known)} keys without a row")
        problem = AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)[1]
        if problem:
            violations.append(f"audit chain: {problem}")
    finally:
        runtime.close()
    for name in ("callvault.db", "keystore.db"):
        db = sqlite3.connect(data_dir / name)
        if db.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            violations.append(f"{name} failed integrity_check")
        db.close()
    return violations
