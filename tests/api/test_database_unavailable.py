"""The database refusing connections (PostgreSQL restarting or unreachable) is the server's
trouble, and passing: every request answers 503 problem details with Retry-After, which
Tethr's SDKs and callvault's client retry, never a 500; the service recovers by itself."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

PREVIEW = ("/purge/v1/calls?whatIf=true", {"ids": ["c1"]})
TOKEN_FORM = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}


def _assert_retry_later(answer):
    assert answer.status_code == 503, answer.text
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert int(answer.headers["retry-after"]) > 0
    assert "retry" in answer.json()["detail"]


@pytest.mark.parametrize("backend", ["pg-s3"], indirect=True)
def test_a_database_that_refuses_connections_is_a_503_to_retry(live, settings, scale_out):
    token = live.token("purge")
    database = make_url(str(settings.database_url)).database
    with live.client(token) as client:
        assert client.post(PREVIEW[0], json=PREVIEW[1]).status_code == 200
        scale_out.pg.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        scale_out.pg.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"  # noqa: S608 (the test's own database name)
        )
        try:
            # The API (its token checked first, in AuthenticateFirst) and the token endpoint
            # (a route of its own).
            _assert_retry_later(client.post(PREVIEW[0], json=PREVIEW[1]))
            _assert_retry_later(client.post("/Token", data=TOKEN_FORM))
        finally:
            scale_out.pg.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        assert client.post(PREVIEW[0], json=PREVIEW[1]).status_code == 200
