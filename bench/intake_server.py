"""The server the intake benchmark talks to: callvault's app plus a no-op endpoint (the floor).

The no-op endpoint runs on the same stack (uvicorn h11, FastAPI, the same auth dependency and
body model) but does no purge work, so the ratio isolates what accepting a purge costs.
Usage: intake_server.py DATA_DIR PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI

from callvault.api.app import create_app
from callvault.api.deps import PurgeUser
from callvault.api.routes.schemas import PurgeIdsIn
from callvault.settings import Settings


def build_app(data_dir: Path) -> FastAPI:
    """callvault's app on ``data_dir`` (no purge worker) with the no-op endpoint."""
    app = create_app(Settings(data_dir=data_dir, run_worker=False))
    router = APIRouter()

    @router.post("/bench/noop")
    async def noop(body: PurgeIdsIn, _user: PurgeUser) -> dict[str, object]:
        return {"items": [], "requestId": "noop"}

    # In a router of its own, as callvault's routes are, and first: FastAPI matches a path
    # against each router in turn (twice in the router that has it), so appended last the
    # no-op would pay about 0.1 ms a request that a purge route does not (bench/README.md).
    app.include_router(router)
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(build_app(data_dir), host="127.0.0.1", port=port, http="h11", log_level="warning")


if __name__ == "__main__":
    main()
