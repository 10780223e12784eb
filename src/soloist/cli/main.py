"""The ``soloist`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from soloist import __version__
from soloist.cli.analyze import analyze
from soloist.cli.backup import backup_app, restore
from soloist.cli.campaigns import campaign_app
from soloist.cli.customers import customers_app
from soloist.cli.deals import deal_app
from soloist.cli.demo import demo
from soloist.cli.experiments import experiment_app
from soloist.cli.exports import export_command
from soloist.cli.feedback import feedback_app
from soloist.cli.imports import import_command
from soloist.cli.journeys import journey_app
from soloist.cli.loyalty import loyalty_app
from soloist.cli.privacy import privacy_app
from soloist.cli.rates import rates_app
from soloist.cli.recommend import recommend
from soloist.cli.report import report
from soloist.cli.segments import churn, segments_app
from soloist.cli.serve import serve
from soloist.cli.surveys import survey_app
from soloist.cli.tasks import task_app
from soloist.cli.tickets import ticket_app
from soloist.cli.users import token_app, user_app
from soloist.cli.worker import worker_app
from soloist.cli.workspace import init, status

app = typer.Typer(
    name="soloist",
    help="Soloist — customer success for one-person companies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(init)
app.command()(status)
app.add_typer(rates_app, name="rates")
app.command()(demo)
app.command()(serve)
app.add_typer(backup_app, name="backup")
app.command()(restore)
app.add_typer(privacy_app, name="privacy")
app.command()(analyze)
app.command()(report)
app.command()(recommend)
app.add_typer(feedback_app, name="feedback")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(loyalty_app, name="loyalty")
app.command("import")(import_command)
app.command("export")(export_command)
app.add_typer(customers_app, name="customers")
app.add_typer(segments_app, name="segments")
app.command()(churn)
app.add_typer(worker_app, name="worker")
campaign_app.add_typer(experiment_app)  # variant, experiment, guide, winner
app.add_typer(campaign_app, name="campaign")
app.add_typer(journey_app, name="journey")
app.add_typer(ticket_app, name="ticket")
app.add_typer(survey_app, name="survey")
app.add_typer(deal_app, name="deal")
app.add_typer(task_app, name="task")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"soloist {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks.", envvar="SOLOIST_DEBUG")
    ] = False,
) -> None:
    """Soloist — customer success for one-person companies."""
    if debug:
        import os

        os.environ["SOLOIST_DEBUG"] = "1"


def main() -> None:
    app()
