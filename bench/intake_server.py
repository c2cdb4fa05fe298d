"""The server the intake benchmark talks to: callvault's app plus a no-op endpoint (the floor).

The no-op endpoint runs on the same stack (uvicorn h11, FastAPI, the same auth dependency and
body model) but does no purge work, so the ratio isolates what accepting a purge costs.
Usage: intake_server.py DATA_DIR PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from callvault.api.app import create_app
from callvault.api.deps import PurgeUser
from callvault.api.routes.schemas import PurgeIdsIn
from callvault.settings import Settings


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    app = create_app(Settings(data_dir=data_dir, run_worker=False))

    @app.post("/bench/noop")
    async def noop(body: PurgeIdsIn, _user: PurgeUser) -> dict[str, object]:
        return {"items": [], "requestId": "noop"}

    uvicorn.run(app, host="127.0.0.1", port=port, http="h11", log_level="warning")


if __name__ == "__main__":
    main()
