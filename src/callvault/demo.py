"""Synthetic calls, stored exactly as capture stores them, in bulk (tests, benchmarks, demos).

Each call gets its own data key, sealed details, encrypted audio blob and blind-index entries,
through the same functions capture uses; only the HTTP and multipart layers are skipped, and rows
are inserted in batches.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from callvault.capture.info import parse_info
from callvault.capture.sealed import AudioDigests, AudioHasher, contacts_document, seal_details
from callvault.capture.service import blob_key_for
from callvault.crypto import CallCipher, new_data_key
from callvault.ids import new_call_id
from callvault.phone import index_form
from callvault.runtime import Runtime
from callvault.store import calls as call_store
from callvault.store.engine import write_transaction
from callvault.store.types import utcnow

FIRST = ["Ann", "Bob", "Chen", "Dana", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jo"]
LAST = ["Smith", "Garcia", "Nguyen", "Okafor", "Muller", "Rossi", "Kowalski", "Sato"]


def random_us_phone(rng: random.Random) -> str:
    area, line = rng.randint(201, 989), rng.randint(0, 9999)
    return rng.choice(
        [f"+1{area}555{line:04d}", f"({area}) 555-{line:04d}", f"1-{area}-555-{line:04d}"]
    )


@dataclass
class _Seeder:
    runtime: Runtime
    rng: random.Random
    phones: Sequence[str] | None
    audio: bytes
    session_prefix: str
    durable: bool
    pool: ThreadPoolExecutor
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    digests: AudioDigests = field(init=False)

    def __post_init__(self) -> None:
        # Every call shares the one audio, hence its digests (capture computes them as it
        # streams; sealed with the details, see ``capture/sealed.py``).
        hasher = AudioHasher()
        hasher.update(self.audio)
        self.digests = hasher.digests()

    def _document(self, n: int) -> dict[str, Any]:
        rng = self.rng
        phone = rng.choice(self.phones) if self.phones else random_us_phone(rng)
        return {
            "sessionId": f"{self.session_prefix}{n}",
            "startTime": (self.start + timedelta(seconds=n * 37)).isoformat(),
            "direction": rng.choice(["Inbound", "Outbound"]),
            "contacts": [
                {"type": "Agent", "firstName": rng.choice(FIRST), "referenceId": f"a{n % 97}"},
                {
                    "type": "Customer",
                    "phoneNumber": phone,
                    "firstName": rng.choice(FIRST),
                    "lastName": rng.choice(LAST),
                },
            ],
            "metadata": {"queue": rng.choice(["billing", "support", "sales"]), "n": n},
        }

    def _put(self, blob: tuple[str, bytes]) -> str | None:
        writer = self.runtime.blobs.writer(blob[0], sync=self.durable)
        writer.write(blob[1])
        writer.commit()
        return writer.version

    def batch(self, numbers: range) -> list[str]:
        """Store the calls numbered ``numbers``: blobs, then keys, then rows (as capture does)."""
        rt = self.runtime
        call_rows: list[dict[str, Any]] = []
        key_rows: list[dict[str, Any]] = []
        index_rows: list[dict[str, Any]] = []
        blobs: list[tuple[str, bytes]] = []
        now = utcnow()
        for n in numbers:
            call_id = new_call_id()
            info = parse_info(json.dumps(self._document(n)).encode())
            key = new_data_key()
            cipher = CallCipher(call_id, key)
            enc = cipher.audio_encryptor()
            blobs.append((blob_key_for(call_id), enc.update(self.audio) + enc.finalize()))
            contacts = contacts_document(info, rt.settings.default_region)
            call_rows.append(
                {
                    "call_id": call_id,
                    "session_id": info.sessionid,
                    "status": "Complete",
                    "start_time": info.starttime,
                    "end_time": None,
                    "direction": info.direction,
                    "contact_types": "\x1f".join(c.type for c in info.contacts),
                    "sealed": seal_details(cipher, info, contacts, self.digests),
                    "audio_format": "wav",
                    "audio_content_type": "audio/wav",
                    "audio_bytes": len(self.audio),
                    "blob_key": blob_key_for(call_id),
                    "duration_sec": None,
                    "captured_at": now,
                }
            )
            key_rows.append(
                {"call_id": call_id, "wrapped": rt.keys.wrap(call_id, key), "created_at": now}
            )
            form = index_form(contacts[1]["phoneNumber"] or "", rt.settings.default_region)
            if form:  # as capture indexes it (the extension included)
                index_rows.append({"digest": rt.keys.blind_index(form), "call_id": call_id})
        # Blob writes overlap well (object stores especially): several threads at once.
        versions = list(self.pool.map(self._put, blobs))
        for row, version in zip(call_rows, versions, strict=True):
            row["blob_version"] = version
        rt.keystore.put_many(key_rows)
        with write_transaction(rt.engine) as conn:
            call_store.insert_many(conn, call_rows, index_rows)
        return [row["call_id"] for row in call_rows]


def seed_calls(
    runtime: Runtime,
    count: int,
    *,
    phones: Sequence[str] | None = None,
    audio_bytes: int = 2048,
    session_prefix: str = "demo-",
    batch: int = 1000,
    seed: int | None = None,
    durable: bool = False,
    start: datetime | None = None,
) -> list[str]:
    """Store ``count`` calls; a call's customer phone is drawn from ``phones`` (else random).
    The first starts at ``start`` (default 2024-01-01 UTC), each next one 37 s later."""
    call_ids: list[str] = []
    with ThreadPoolExecutor(8) as pool:
        seeder = _Seeder(
            runtime=runtime,
            rng=random.Random(seed),
            phones=phones,
            audio=os.urandom(audio_bytes),
            session_prefix=session_prefix,
            durable=durable,
            pool=pool,
        )
        if start is not None:
            seeder.start = start
        for offset in range(0, count, batch):
            call_ids.extend(seeder.batch(range(offset, min(count, offset + batch))))
    return call_ids
