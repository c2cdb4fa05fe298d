"""Liveness without authentication."""

from __future__ import annotations

from fastapi import APIRouter

from callvault import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz", summary="Liveness check (no auth)")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
