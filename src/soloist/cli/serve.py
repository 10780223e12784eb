"""``soloist serve``: the API and web app on a local address."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from soloist.cli.common import Common, err, shared_options, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from soloist.storage.database import Database


@shared_options(json=False)
def serve(
    common: Common,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run the background worker (queued jobs, the nightly refit) in this process.",
        ),
    ] = True,
) -> None:
    """Serve the REST API (and web app) of the workspace; Ctrl-C stops it."""
    import uvicorn

    from soloist.app import create_app
    from soloist.domain.caches import warm_in_background
    from soloist.domain.workspace import open_workspace
    from soloist.storage.kept import KEPT_FILE, KeptFiguresSaver, load_kept_figures

    settings = common.settings()
    if worker:
        from soloist.domain.jobs import next_fire_time

        for schedule in (settings.refit_schedule, settings.loyalty_schedule):
            if schedule.strip():  # refuse a bad one now rather than in the worker's log
                next_fire_time(schedule, settings.timezone, utcnow())
    database = open_workspace(settings)
    with database.read_session() as session:
        from soloist.domain.users import count_owners

        owners = count_owners(session)
    start_up = _start_up_figures(database)  # imports the modules whose caches are kept
    kept_file = settings.workspace / KEPT_FILE
    kept = load_kept_figures(kept_file, database.keyring, database.url)
    saver = KeptFiguresSaver(kept_file, database.keyring, database.url).start()
    app = create_app(settings, database, run_worker=worker, on_stop=saver.stop)
    # The dashboard's aggregates, the overview pages' figures, the recommender and the feedback
    # analysis take seconds on a large workspace: work them out now, one at a time on one
    # background thread, so that together they take at most one core from the first requests
    # (pages show the kept figures of the last run meanwhile, marked as being updated).
    warm_in_background(database, "start-up", *start_up)
    if kept:
        err.print(
            f"Figures kept from the last run: {kept} (shown while they are brought up to date)."
        )
    err.print(f"Soloist is serving on http://{host}:{port}/ (API docs at /docs). Ctrl-C stops it.")
    if owners == 0:
        err.print(
            "No owner can sign in yet: create one with "
            "`soloist user add EMAIL --role owner` (or `soloist init --owner-email EMAIL`)."
        )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _start_up_figures(database: Database) -> list[Callable[[Session], object]]:
    """What the pages show first, in the order ``soloist serve`` works them out at start: the
    dashboard; the loyalty, journeys and campaigns overviews; the recommender and the rating
    model (the customer page's offers); the feedback analysis; the Reports page's report
    (the longest, half a minute at 100,000 customers)."""
    from soloist.domain.campaigns import current_campaign_figures
    from soloist.domain.dashboard import dashboard
    from soloist.domain.feedback_text import current_feedback_analysis
    from soloist.domain.journeys import current_journey_effects
    from soloist.domain.loyalty import current_loyalty_report
    from soloist.domain.recommendations import rating_model, recommender
    from soloist.domain.reports import current_report

    settings = database.settings
    currency = settings.currency
    return [
        lambda session: dashboard(session, currency, database),
        current_loyalty_report,
        lambda session: current_journey_effects(session, currency),
        lambda session: current_campaign_figures(session, currency),
        recommender,
        rating_model,
        current_feedback_analysis,
        lambda session: current_report(session, currency, settings.rates, settings.timezone),
    ]
