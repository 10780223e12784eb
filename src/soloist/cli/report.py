"""``soloist report``: the owner's report of the last complete month (or week) as one HTML file
with its charts inline, in the workspace's language."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from soloist.cli.common import Common, out, parse_date, print_json, shared_options


@shared_options
def report(
    common: Common,
    period: Annotated[
        str, typer.Option("--period", help="month (the last complete one) or week.")
    ] = "month",
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Report on the last complete period before this date (YYYY-MM-DD); default: "
            "now, or the last order when the data end in the past.",
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="en or zh_Hans; default: the workspace's.")
    ] = None,
) -> None:
    """Write the report: revenue and its movements, customers and CLV, NPS/CSAT/CES and the
    themes of negative feedback, the valuable customers at risk, campaigns and journeys with
    their measured effects, loyalty, tickets and SLA, and the pipeline, each figure against
    the previous period. Open it in any browser; print it to PDF from there."""
    from soloist.domain.reports import build_report
    from soloist.web.reports import report_file

    moment = None
    if as_of is not None:
        day = parse_date(as_of)
        moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    with common.open_database() as database, database.read_session() as session:
        settings = database.settings
        built = build_report(
            session, settings.currency, settings.rates, settings.timezone,
            period=period, as_of=moment,
        )  # fmt: skip
        html = report_file(built, settings, language)
    output.write_text(html, encoding="utf-8")
    summary = {
        "path": str(output),
        "period": built.period.label,
        "previous": built.previous.label,
        "revenue_minor": built.revenue.revenue_minor.current,
        "currency": built.currency,
    }
    if common.json:
        print_json(summary)
        return
    out.print(f"Wrote the report of {built.period.label} to {output}.", markup=False)
