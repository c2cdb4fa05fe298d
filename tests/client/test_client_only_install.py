"""The SDK and the client commands run with no server dependency importable at all.

(pydantic is not blocked: typer itself depends on it, so a client install has it anyway; nor is
cryptography, which the client side needs with PyJWT to verify certificates of erasure.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SERVER_ONLY = [
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "pydantic_settings",
    "phonenumbers",
    "mutagen",
    "prometheus_client",
    "python_multipart",
]

BLOCKER = textwrap.dedent(
    f"""
    import sys
    BLOCKED = {SERVER_ONLY!r}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is a server dependency")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def _run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_blocker_really_blocks():
    result = _run("import sqlalchemy\n")
    assert result.returncode != 0
    assert "server dependency" in result.stderr


def test_sdk_works_without_server_dependencies(live):
    client_id, secret = live.user("purge")
    result = _run(
        f"""
        from callvault.client import Client
        with Client({live.url!r}, client_id={client_id!r}, client_secret={secret!r}) as cv:
            print(cv.purge_calls(["nope"]).items[0].status)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "NotFound"


def test_client_commands_work_without_server_dependencies(live):
    client_id, secret = live.user("purge")
    result = _run(
        f"""
        import sys
        from callvault.cli.main import app
        sys.argv = ["callvault", "purge", "calls", "nope", "--output", "json",
                    "--url", {live.url!r}, "--client-id", {client_id!r},
                    "--client-secret", {secret!r}]
        app()
        """
    )
    assert result.returncode == 0, result.stderr
    assert '"NotFound"' in result.stdout


def test_certificates_verify_without_server_dependencies(live, tmp_path):
    from callvault.certificates.service import CertificateService

    service = CertificateService(live.runtime)
    with live.client(live.token("purge")) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": ["nope"]}).json()["requestId"]
    certificate = tmp_path / "cert.jws"
    certificate.write_text(service.certificate(request_id, actor="test"))
    result = _run(
        f"""
        import sys
        from callvault.cli.main import app
        sys.argv = ["callvault", "certificate", "verify", {str(certificate)!r},
                    "--url", {live.url!r}]
        app()
        """
    )
    assert result.returncode == 0, result.stderr
    assert request_id in result.stdout
