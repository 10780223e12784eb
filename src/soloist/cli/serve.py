"""``soloist serve``: the API and web app on a local address."""

from __future__ import annotations

from typing import Annotated

import typer

from soloist.cli.common import DbOption, WorkspaceOption, cli_errors, err, settings_for


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Serve the REST API (and web app) of the workspace; Ctrl-C stops it."""
    import uvicorn

    from soloist.app import create_app

    with cli_errors():
        app = create_app(settings_for(workspace, db))
    err.print(f"Soloist is serving on http://{host}:{port}/ (API docs at /docs). Ctrl-C stops it.")
    uvicorn.run(app, host=host, port=port, log_level="warning")
