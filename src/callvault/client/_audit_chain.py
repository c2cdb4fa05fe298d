"""Checking audit events offline against a signed checkpoint (contract §23): no secret of the
instance, only its JWKS.

An event's ``hash`` is the SHA-256 of its canonical form: the event as ``GET /audit/v1/events``
gives it, without ``hash``, as JSON with keys sorted, no spaces, non-ASCII escaped
(``json.dumps(event, sort_keys=True, separators=(",", ":"))``), in UTF-8; ``prevHash`` is the
event before's ``hash``. A checkpoint is a JWS (``typ`` ``audit-checkpoint+jwt``) on the
certificate keys saying "event ``seq`` has hash ``hash``": a run of events whose recomputed
hashes link up and end at that hash is exactly what the instance recorded.

>>> summary = verify_evidence("evidence-<requestId>.zip")   # or its unpacked folder
>>> summary.checkpoint_seq, summary.events_proven
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callvault.client._certificates import REQUIRED_OF, verify_jws
from callvault.client._exceptions import CertificateError

CHECKPOINT_TYPE = "audit-checkpoint+jwt"
_CHECKPOINT = {CHECKPOINT_TYPE: ["iss", "iat", "seq", "hash"]}


def event_hash(event: Mapping[str, Any]) -> str:
    """The ``hash`` an audit event must carry, recomputed from its other fields."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def verify_checkpoint(jws: str, jwks: dict[str, Any] | str) -> dict[str, Any]:
    """The claims (``iss``, ``iat``, ``seq``, ``hash``) of a signed checkpoint once its signature
    checks out against ``jwks``; CertificateError otherwise."""
    claims = verify_jws(jws, jwks, types=_CHECKPOINT, what="audit checkpoint")
    if not isinstance(claims.get("seq"), int) or not isinstance(claims.get("hash"), str):
        raise CertificateError("the checkpoint's seq or hash is not of its kind")
    return claims


def verify_chain(
    events: Iterable[Mapping[str, Any]], checkpoint: str, jwks: dict[str, Any] | str
) -> dict[str, str]:
    """Check a run of consecutive events (oldest first) up to a signed checkpoint: every hash
    recomputed, every link, and the last event is the checkpoint's, with its hash. Returns
    ``seq`` -> ``hash`` of every event so proven; raises CertificateError saying where not."""
    claims = verify_checkpoint(checkpoint, jwks)
    proven: dict[str, str] = {}
    prev: str | None = None
    last: Mapping[str, Any] | None = None
    for event in events:
        seq = event.get("seq")
        if last is not None and seq != last.get("seq", 0) + 1:
            raise CertificateError(f"the chain skips from event {last.get('seq')} to {seq}")
        if prev is not None and event.get("prevHash") != prev:
            raise CertificateError(f"event {seq} does not follow the event before it")
        digest = event_hash(event)
        if digest != event.get("hash"):
            raise CertificateError(f"event {seq} was altered (its hash does not recompute)")
        proven[str(seq)] = digest
        prev, last = digest, event
    if last is None:
        raise CertificateError("the chain is empty")
    if last.get("seq") != claims["seq"] or prev != claims["hash"]:
        raise CertificateError(
            f"the chain ends at event {last.get('seq')}, hash {prev}; the signed checkpoint "
            f"says event {claims['seq']} has hash {claims['hash']}"
        )
    return proven


@dataclass(frozen=True)
class EvidenceSummary:
    kind: str  # "erasure" or "redaction"
    subject: str  # the requestId or redactionId
    certificate: dict[str, Any]
    checkpoint_seq: int
    events_proven: int  # the request's events found in the checked chain


def _reader(path: Path) -> dict[str, bytes]:
    names = ("certificate.jws", "jwks.json", "audit-events.jsonl", "chain.jsonl", "checkpoint.jws")
    if path.is_dir():
        return {n: (path / n).read_bytes() for n in names if (path / n).is_file()}
    with zipfile.ZipFile(path) as archive:
        inside = set(archive.namelist())
        return {n: archive.read(n) for n in names if n in inside}


def _lines(data: bytes, name: str) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    except (UnicodeDecodeError, ValueError) as exc:
        raise CertificateError(f"{name} is not JSON lines: {exc}") from exc


def verify_evidence(path: str | Path) -> EvidenceSummary:
    """Check an evidence ZIP (or its unpacked folder) offline, with only what it holds: the
    certificate against ``jwks.json``, the checkpoint against the same keys, ``chain.jsonl``
    up to the checkpoint, every event of ``audit-events.jsonl`` in that chain, and the
    certificate's ``audit`` claim pointing into it. CertificateError says what fails."""
    try:
        files = _reader(Path(path))
    except (OSError, zipfile.BadZipFile) as exc:
        raise CertificateError(f"cannot read {path}: {exc}") from exc
    for needed in ("certificate.jws", "jwks.json", "audit-events.jsonl"):
        if needed not in files:
            raise CertificateError(f"{needed} is missing: not an evidence package")
    try:
        jwks = json.loads(files["jwks.json"])
        jws = files["certificate.jws"].decode("ascii")
    except (UnicodeDecodeError, ValueError) as exc:
        raise CertificateError(f"unreadable jwks.json or certificate.jws: {exc}") from exc
    claims = verify_jws(jws, jwks, types=REQUIRED_OF, what="certificate of erasure or redaction")
    if "chain.jsonl" not in files or "checkpoint.jws" not in files:
        raise CertificateError("chain.jsonl or checkpoint.jws is missing: nothing to check with")
    checkpoint = files["checkpoint.jws"].decode("ascii", "replace")
    proven = verify_chain(_lines(files["chain.jsonl"], "chain.jsonl"), checkpoint, jwks)
    events = _lines(files["audit-events.jsonl"], "audit-events.jsonl")
    for event in events:
        if proven.get(str(event.get("seq"))) != event.get("hash") or event_hash(event) != event.get(
            "hash"
        ):
            raise CertificateError(
                f"event {event.get('seq')} of audit-events.jsonl is not in the chain"
            )
    audit = claims.get("audit") or {}
    if audit.get("lastSeq") is not None and proven.get(str(audit["lastSeq"])) != audit.get(
        "headHash"
    ):
        raise CertificateError("the certificate's audit claim does not point into the chain")
    kind = "redaction" if "redactionId" in claims else "erasure"
    subject = str(claims.get("redactionId") or claims.get("requestId"))
    return EvidenceSummary(
        kind, subject, claims, verify_checkpoint(checkpoint, jwks)["seq"], len(events)
    )
