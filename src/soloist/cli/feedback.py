"""``soloist feedback analyze``: sentiment and keywords of what customers wrote."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from soloist.cli.common import Common, out, print_json, shared_options

feedback_app = typer.Typer(help="What customers wrote: sentiment and keywords.")


@feedback_app.command("analyze")
@shared_options
def analyze_feedback_command(
    common: Common,
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="How far back.")] = 6,
) -> None:
    """Sentiment (English and Chinese, the language told per text) and keywords of survey
    comments and reviews, month by month: what unhappy customers talk about. Says which method
    scores the texts (the rules, or a model trained on this workspace's rated reviews once it
    beats them in 5-fold cross-validation) and how well each did."""
    from soloist.domain.feedback_text import analyze_feedback

    with common.open_database() as database, database.read_session() as session:
        found = analyze_feedback(session, months=months)
    if common.json:
        print_json(dataclasses.asdict(found))
        return
    method = "trained on your rated reviews" if found.method == "trained" else "rules"
    out.print(f"Scored by: {method}", markup=False)
    if found.rules_accuracy is not None:
        trained = (
            f", trained model {found.trained_accuracy:.1%} (5-fold)"
            if found.trained_accuracy is not None
            else ""
        )
        out.print(
            f"  on {found.labelled} rated reviews: rules {found.rules_accuracy:.1%}{trained}",
            markup=False,
        )
    out.print(
        f"{found.texts} texts: {found.positive} positive, {found.negative} negative, "
        f"{found.neutral} neutral; languages {found.by_language}",
        markup=False,
    )
    if found.negative_keywords:
        words = ", ".join(f"{w} ({n})" for w, n in found.negative_keywords)
        out.print(f"Unhappy customers talk about: {words}", markup=False)
    for month in found.months:
        if not month.texts:
            continue
        mood = f"mean {month.mean_sentiment:+.2f}, {month.negative_share:.0%} negative"
        topics = ", ".join(w for w, _ in month.negative_keywords) or "—"
        out.print(f"{month.month}  {month.texts:>4} texts  {mood}  {topics}", markup=False)
