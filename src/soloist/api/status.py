"""/api/v1/status and the unauthenticated health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from soloist.api.deps import Reader, ReadSession
from soloist.domain.status import workspace_status

router = APIRouter(tags=["status"])


@router.get("/api/v1/status")
def get_status(request: Request, session: ReadSession, _: Reader) -> dict[str, Any]:
    """The same counts and revenue as `soloist status --json`."""
    return workspace_status(session, request.app.state.settings.currency)


@router.get("/healthz", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}
