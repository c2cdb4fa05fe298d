"""Evidence of a purge request (contract §23): what a regulator or a data subject's advocate is
handed, and can check without asking callvault anything.

``evidence-<requestId>.zip`` holds:

- ``certificate.jws``: the certificate of erasure (the one ``GET …/certificate`` answers);
- ``jwks.json``: the key set that verifies it (every public signing key of the instance);
- ``audit-events.jsonl``: every audit event naming the request, oldest first, one JSON object a
  line (as ``GET /audit/v1/events`` gives them: ``seq``, ``at``, …, ``prevHash``, ``hash``);
- ``chain.jsonl``: every event of the chain from the request's first one to the first signed
  checkpoint after its last one, and ``checkpoint.jws``: that checkpoint (signed with the same
  keys, ``typ`` ``audit-checkpoint+jwt``, claims ``seq`` and ``hash``). Recomputing the hashes
  along ``chain.jsonl`` (audit/trail.py states the canonical form) must end at the checkpoint's
  ``hash``: the request's events are then proven in the instance's chain, offline and with no
  secret. The checkpoint is signed at once when none covers them yet;
- ``certificate.html``: the certificate read aloud for a person: what was erased, when (ISO 8601
  UTC), by whom, for which reference, each item, and how to verify it offline. No script, no
  remote asset: it opens from the unpacked folder.

It is built in memory (a certificate and its events: kilobytes), after the certificate is
issued or found, so the ZIP and ``GET …/certificate`` always hand out the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from callvault.audit.trail import event_json, request_rows
from callvault.certificates.service import CertificateService
from callvault.runtime import Runtime
from callvault.store import audit as audit_store

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Evidence:
    filename: str
    content: bytes


def _part(jws: str, index: int) -> dict[str, Any]:
    """One JSON part of a compact JWS this instance signed (0: header, 1: claims), read, not
    verified: it was just issued or read back from the store."""
    segment = jws.split(".")[index]
    part: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return part


def claims_of(jws: str) -> dict[str, Any]:
    """The claims of a certificate this instance signed."""
    return _part(jws, 1)


def _iso(value: Any) -> str | None:
    """A claim's time as ISO 8601 UTC (``iat`` is seconds since 1970)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _jsonl(events: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()


class EvidenceService:
    def __init__(self, runtime: Runtime, certificates: CertificateService) -> None:
        self.runtime = runtime
        self.certificates = certificates

    def purge_request(self, request_id: str, actor: str) -> Evidence:
        """The evidence ZIP of a final purge request (the certificate's rules: 404 for none or
        a preview, 409 while Purging or when Cancelled)."""
        jws = self.certificates.certificate(request_id, None, actor)
        return self._package(
            jws,
            "certificate.html",
            request_id,
            {"request_id": request_id, "verify_options": f" --expect-request {request_id}"},
        )

    def redaction(self, call_id: str, redaction_id: str, actor: str) -> Evidence:
        """The evidence ZIP of a Redacted redaction (contract §23; the certificate's rules: 404
        for none, 409 while Redacting or once Failed), its page ``redaction.html``."""
        jws = self.certificates.redaction_certificate(call_id, redaction_id, actor)
        return self._package(jws, "redaction.html", redaction_id, {"verify_options": ""})

    def _package(
        self, jws: str, template: str, request_id: str, context: dict[str, Any]
    ) -> Evidence:
        claims = claims_of(jws)
        jwks = self.certificates.jwks()
        engine = self.runtime.engine
        self.certificates.trail.catch_up(engine)  # the certificate.issued just appended, too
        events = [event_json(r) for r in request_rows(engine, request_id)]
        chain: list[dict[str, Any]] = []
        checkpoint = None
        if events:
            checkpoint = self.certificates.checkpoints.covering(events[-1]["seq"])
            chain = [
                event_json({**r, "details": json.loads(r["details"])})
                for r in audit_store.events_between(engine, events[0]["seq"], checkpoint.seq)
            ]
        header = _part(jws, 0)
        html = _TEMPLATES.get_template(template).render(
            claims=claims,
            kid=header.get("kid"),
            issued_at=_iso(claims.get("iat")),
            events=events,
            checkpoint=checkpoint,
            chain_length=len(chain),
            **context,
        )
        stamp = datetime.fromtimestamp(int(claims.get("iat", 0)), UTC).timetuple()[:6]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in (
                ("certificate.jws", jws.encode("ascii")),
                ("jwks.json", json.dumps(jwks, indent=2).encode()),
                ("audit-events.jsonl", _jsonl(events)),
                ("certificate.html", html.encode("utf-8")),
                *(
                    [
                        ("chain.jsonl", _jsonl(chain)),
                        ("checkpoint.jws", checkpoint.jws.encode("ascii")),
                    ]
                    if checkpoint is not None
                    else []
                ),
            ):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        return Evidence(f"evidence-{request_id}.zip", buffer.getvalue())
