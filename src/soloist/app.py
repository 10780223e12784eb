"""``create_app(settings)``: the FastAPI application behind `soloist serve`."""

from __future__ import annotations

from fastapi import FastAPI

from soloist import __version__
from soloist.api import customers, status
from soloist.api.errors import install_error_handlers
from soloist.config import Settings
from soloist.storage.database import Database


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """The API (and, when present, the web app) over one workspace's database."""
    from soloist.domain.workspace import open_workspace

    db = database or open_workspace(settings)
    app = FastAPI(
        title="Soloist",
        version=__version__,
        description="Customer success for one-person companies. "
        "Authenticate with `Authorization: Bearer <token>` (see `soloist token create`).",
    )
    app.state.settings = settings
    app.state.database = db
    install_error_handlers(app)
    app.include_router(status.router)
    app.include_router(customers.router)
    return app
