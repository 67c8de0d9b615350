"""Liveness and readiness: ``GET /health`` answers while the process serves; ``GET /ready``
is 200 only while the engine runs and its outputs are drained (503 otherwise)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wintermute.service.venue import Venue

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", summary="Readiness", responses={503: {"description": "not ready"}})
async def ready(request: Request) -> Any:
    """The engine runs and the venue drains its outputs."""
    venue: Venue = request.app.state.venue
    if venue.ready:
        return {"status": "ready"}
    return JSONResponse({"code": "UNAVAILABLE", "message": "engine not running"}, 503)
