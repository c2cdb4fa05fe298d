"""AuthenticateFirst remembers which method and path a route takes, in a bounded table."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from callvault.api import authfirst
from callvault.api.authfirst import AuthenticateFirst


def _app() -> tuple[FastAPI, list[AuthenticateFirst]]:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    made: list[AuthenticateFirst] = []

    class Recorded(AuthenticateFirst):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    app.add_middleware(Recorded, open_paths=frozenset())
    return app, made


def test_the_route_table_stays_bounded_and_right(monkeypatch):
    monkeypatch.setattr(authfirst, "ROUTE_CACHE_SIZE", 8)
    app, made = _app()
    with TestClient(app) as client:
        for n in range(30):  # unrouted paths: 404 without a token, each remembered
            assert client.get(f"/nothing/{n}").status_code == 404
            assert client.get(f"/things/{n}").status_code == 401  # routed: a token first
            assert client.post(f"/things/{n}").status_code == 405  # wrong method: not routed
        assert 0 < len(made[0]._routed) <= 8
