"""The SDK's access exports (contract §20): create, get, list, revoke, download_export (streamed
to a file) and verify_export (offline: the manifest's JWS, every file's size and SHA-256; an
age-encrypted package opened with its identity). Against a live server: the wire matters."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from pyrage import x25519

from callvault.client import (
    APIError,
    AsyncClient,
    BadRequestError,
    Client,
    Export,
    ExportError,
    ExportPreview,
    PermissionDeniedError,
    verify_export,
)
from helpers import call_info, post_call, wav_bytes

PHONE = "+1 512 555 0142"


def sdk(live, *permissions: str) -> Client:
    client_id, secret = live.user(*permissions)
    return Client(live.url, client_id=client_id, client_secret=secret)


@pytest.fixture
def captured(live) -> str:
    info = call_info("sdk-1", contacts=[{"type": "Customer", "channel": 1, "phoneNumber": PHONE}])
    with live.client(live.token("capture")) as client:
        answer = post_call(client, info, wav_bytes(0.5, marker=b"SDK-AUDIO"))
    call_id: str = answer.json()["callId"]
    return call_id


def test_create_download_and_verify(live, captured, tmp_path):
    with sdk(live, "export") as cv:
        preview = cv.create_export(phone_numbers=[PHONE], what_if=True)
        assert isinstance(preview, ExportPreview)
        assert preview.calls == 1
        assert preview.items[0]["callId"] == captured
        made = cv.create_export(phone_numbers=[PHONE], reference="DSR-7")
        assert isinstance(made, Export)
        assert made.download_url
        assert made.state == "Ready"
        assert made.calls == 1
        jwks = cv.get_jwks()
        by_token = cv.download_export(made.export_id, tmp_path / "a.zip")
        by_link = cv.download_export(made.export_id, tmp_path / "b.zip", link=made.download_url)
        assert not (tmp_path / "a.zip.part").exists()
        assert by_token.read_bytes()[:4] == b"PK\x03\x04"
        assert by_link.stat().st_size > 0
        summary = verify_export(by_token, jwks)
        assert summary.export_id == made.export_id
        assert summary.calls_included == 1
        assert summary.reference == "DSR-7"
        assert not summary.encrypted
        assert cv.get_export(made.export_id).downloads == 2
        assert [e.export_id for e in cv.list_exports(reference="DSR-7")] == [made.export_id]
        assert cv.revoke_export(made.export_id).state == "Revoked"
        with pytest.raises(APIError, match=r"does not work"):
            cv.download_export(made.export_id, tmp_path / "c.zip", link=made.download_url)
        assert not (tmp_path / "c.zip").exists()
        with pytest.raises(BadRequestError):
            cv.create_export(started_after="2026-01-01T00:00:00Z")


def test_verify_export_finds_any_change(live, captured, tmp_path):
    with sdk(live, "export") as cv:
        made = cv.create_export(phone_numbers=[PHONE])
        assert isinstance(made, Export)
        package = cv.download_export(made.export_id, tmp_path / "p.zip")
        jwks = cv.get_jwks()
    original = zipfile.ZipFile(package)
    audio = next(n for n in original.namelist() if n.endswith("audio.wav"))
    # The same package with one byte of the audio changed, every other file as it was.
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(changed, "w") as out:
        for name in original.namelist():
            data = original.read(name)
            if name == audio:
                data = data[:-1] + bytes([data[-1] ^ 1])
            out.writestr(name, data)
    with pytest.raises(ExportError, match="SHA-256"):
        verify_export(changed, jwks)
    extra = tmp_path / "extra.zip"
    with zipfile.ZipFile(extra, "w") as out:
        for name in original.namelist():
            out.writestr(name, original.read(name))
        out.writestr("calls/x/audio.wav", b"smuggled")
    with pytest.raises(ExportError, match="not in its manifest"):
        verify_export(extra, jwks)
    with pytest.raises(ExportError, match="kid"):
        verify_export(package, {"keys": []})


def test_an_encrypted_package_verifies_with_its_identity_only(live, captured, tmp_path):
    identity = x25519.Identity.generate()
    with sdk(live, "export") as cv:
        made = cv.create_export(phone_numbers=[PHONE], recipients=[str(identity.to_public())])
        assert isinstance(made, Export)
        package = cv.download_export(made.export_id, tmp_path / "p.zip.age")
        jwks = cv.get_jwks()
    summary = verify_export(package, jwks, str(identity))
    assert summary.encrypted
    assert summary.calls_included == 1
    with pytest.raises(ExportError, match="identity"):
        verify_export(package, jwks)
    with pytest.raises(ExportError, match="decrypt"):
        verify_export(package, jwks, str(x25519.Identity.generate()))


def test_a_user_without_export_is_refused(live, captured, tmp_path):
    with sdk(live, "export") as cv:
        made = cv.create_export(phone_numbers=[PHONE])
        assert isinstance(made, Export)
    with sdk(live, "audit") as cv, pytest.raises(PermissionDeniedError):
        cv.download_export(made.export_id, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


async def _async_flow(live, tmp_path: Path) -> None:
    client_id, secret = live.user("export")
    async with AsyncClient(live.url, client_id=client_id, client_secret=secret) as cv:
        made = await cv.create_export(phone_numbers=[PHONE])
        assert isinstance(made, Export)
        assert (await cv.get_export(made.export_id)).calls == 1
        path = await cv.download_export(made.export_id, tmp_path / "async.zip")
        assert zipfile.ZipFile(path).testzip() is None
        assert (await cv.list_exports())[0].export_id == made.export_id
        assert (await cv.revoke_export(made.export_id)).state == "Revoked"


def test_the_async_client_does_the_same(live, captured, tmp_path):
    import asyncio

    asyncio.run(_async_flow(live, tmp_path))
