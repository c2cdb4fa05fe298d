"""Verifying an access export's package offline (contract §20).

Only the instance's JWKS is needed (and, for a package encrypted to an age key, its identity):

>>> summary = verify_export("callvault-export-….zip", json.load(open("jwks.json")))
>>> summary.calls_included, summary.files

The manifest's JWS must verify on a key of the JWKS (typ ``export-manifest+jwt``) and name the
SHA-256 of ``manifest.json``; every file but the two manifests must be listed there with its
exact size and SHA-256, and nothing listed may be missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from callvault.client._certificates import verify_jws
from callvault.client._exceptions import ExportError

MANIFEST_TYPE = "export-manifest+jwt"
AGE_MAGIC = b"age-encryption.org/v1\n"
_PIECE = 1024 * 1024


@dataclass(frozen=True)
class ExportSummary:
    """What a verified package holds."""

    export_id: str
    issuer: str
    reference: str | None
    generated_at: str | None
    calls_included: int
    calls_erased: int
    files: int
    bytes: int
    encrypted: bool


def _hash_member(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as member:
        while piece := member.read(_PIECE):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def _check_zip(source: IO[bytes], jwks: dict[str, Any] | str) -> tuple[dict[str, Any], int]:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise ExportError(f"not a ZIP file: {exc}") from exc
    with archive:
        names = archive.namelist()
        for needed in ("manifest.json", "manifest.jws"):
            if needed not in names:
                raise ExportError(f"{needed} is missing: not a callvault export package")
        manifest_raw = archive.read("manifest.json")
        jws = archive.read("manifest.jws").decode("ascii", "replace")
        claims = verify_jws(
            jws,
            jwks,
            types={MANIFEST_TYPE: ["iss", "iat", "exportId", "manifestSha256"]},
            what="export manifest",
            error=ExportError,
        )
        if claims["manifestSha256"] != hashlib.sha256(manifest_raw).hexdigest():
            raise ExportError("manifest.json is not the manifest its signature names: altered")
        try:
            manifest = json.loads(manifest_raw)
        except ValueError as exc:
            raise ExportError(f"manifest.json is not JSON: {exc}") from exc
        if manifest.get("exportId") != claims["exportId"]:
            raise ExportError("manifest.json names another export than its signature")
        listed: dict[str, dict[str, Any]] = {}
        for entry in manifest.get("files", []):
            listed[str(entry.get("path"))] = entry
        extra = sorted(set(names) - set(listed) - {"manifest.json", "manifest.jws"})
        if extra:
            raise ExportError(f"{extra[0]} is in the package but not in its manifest")
        total = 0
        for path, entry in listed.items():
            if path not in names:
                raise ExportError(f"{path} is listed in the manifest but missing")
            size, sha256 = _hash_member(archive, path)
            if size != entry.get("bytes"):
                raise ExportError(f"{path}: {size} bytes, the manifest says {entry.get('bytes')}")
            if sha256 != entry.get("sha256"):
                raise ExportError(f"{path}: its SHA-256 is not the manifest's: altered")
            total += size
    manifest["iss"] = claims["iss"]
    return manifest, total


def verify_export(
    path: str | Path, jwks: dict[str, Any] | str, identity: str | None = None
) -> ExportSummary:
    """Check a downloaded package (``.zip``, or ``.zip.age`` with the age ``identity``: the
    text of an ``AGE-SECRET-KEY-1…`` key file); raises ExportError saying why it fails."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            encrypted = handle.read(len(AGE_MAGIC)) == AGE_MAGIC
    except OSError as exc:
        raise ExportError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if not encrypted:
        with source.open("rb") as handle:
            manifest, total = _check_zip(handle, jwks)
        return _summary(manifest, total, False)
    if identity is None:
        raise ExportError("the package is age-encrypted: give the identity (age key) to open it")
    try:
        import pyrage
        from pyrage import x25519
    except ImportError as exc:  # pragma: no cover - pyrage is a dependency of the client
        raise ExportError("decrypting needs pyrage (pip install pyrage)") from exc
    keys = [
        line.strip() for line in identity.splitlines() if line.strip().startswith("AGE-SECRET-KEY-")
    ]
    if not keys:
        raise ExportError("the identity holds no age secret key (AGE-SECRET-KEY-1…)")
    try:
        identities = [x25519.Identity.from_str(k) for k in keys]
    except Exception as exc:
        raise ExportError(f"the identity is not a valid age X25519 key: {exc}") from exc
    # Decrypted into a temporary file of this machine's (a ZIP is read by seeking), deleted
    # when checked: the package is the caller's own by now.
    with tempfile.TemporaryFile() as plain, source.open("rb") as handle:
        try:
            pyrage.decrypt_io(handle, plain, identities)
        except Exception as exc:
            raise ExportError(f"cannot decrypt the package with this identity: {exc}") from exc
        plain.seek(0)
        manifest, total = _check_zip(plain, jwks)
    return _summary(manifest, total, True)


def _summary(manifest: dict[str, Any], total: int, encrypted: bool) -> ExportSummary:
    calls = manifest.get("calls", [])
    return ExportSummary(
        export_id=str(manifest.get("exportId")),
        issuer=str(manifest.get("iss")),
        reference=manifest.get("reference"),
        generated_at=manifest.get("generatedAt"),
        calls_included=sum(1 for c in calls if c.get("state") == "included"),
        calls_erased=sum(1 for c in calls if c.get("state") == "erased"),
        files=len(manifest.get("files", [])),
        bytes=total,
        encrypted=encrypted,
    )


def write_stream(chunks: Any, to: Path) -> int:
    """Write an iterable of byte chunks to ``to`` (through a temporary sibling, renamed when
    complete: a broken download leaves no half file under the name asked for)."""
    partial = to.with_name(to.name + ".part")
    written = 0
    with partial.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            written += len(chunk)
    shutil.move(str(partial), str(to))
    return written
