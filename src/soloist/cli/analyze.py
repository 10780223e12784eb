"""``soloist analyze``: fit the CLV models and score every customer."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import (
    Common,
    cli_actor,
    err,
    out,
    parse_date,
    print_json,
    shared_options,
)

# The models' names, for the help; the command's modules (SciPy, scikit-learn) load only when it
# runs, so that every other command starts at once. A test keeps this equal to PURCHASE_MODELS.
MODEL_NAMES = ("bg-nbd", "mbg-nbd", "pareto-nbd")


@shared_options
def analyze(
    common: Common,
    model: Annotated[
        str, typer.Option(help=f"Purchase model: {' or '.join(MODEL_NAMES)}.")
    ] = "bg-nbd",
    holdout_days: Annotated[int, typer.Option(help="Days held out to check the model.")] = 90,
    discount_rate: Annotated[float, typer.Option(help="Annual discount rate for CLV.")] = 0.10,
    end_date: Annotated[
        dt.date | None,
        typer.Option(
            parser=parse_date,
            metavar="<date>",
            help="Last day of data to use (default: the last order).",
        ),
    ] = None,
    clv_only: Annotated[
        bool, typer.Option("--clv-only", help="Only the CLV models: no segments, no churn.")
    ] = False,
    plots: Annotated[
        Path | None, typer.Option(help="Folder to save the holdout check figures (PNG) in.")
    ] = None,
) -> None:
    """Fit BG/NBD (or Pareto/NBD) and Gamma-Gamma, check them on a holdout, store scores;
    then segment the customers (RFM and K-Means clusters) and score churn risk with reasons."""
    from soloist.domain.scoring import (
        AnalyzeOptions,
        analyze_workspace,
        score_churn_risk,
        segment_customers,
    )

    options = AnalyzeOptions(
        model=model,
        holdout_days=holdout_days,
        annual_discount_rate=discount_rate,
        observation_end=end_date,
        plots_dir=plots,
    )
    with common.open_database() as database, database.session() as session:
        spinner = err.status("Fitting the CLV models…", spinner="dots")
        with nullcontext() if common.json else spinner:
            currency, actor = database.settings.currency, cli_actor()
            run = analyze_workspace(session, currency, actor, options)
            followers = (
                []
                if clv_only
                else [
                    segment_customers(session, currency, actor, "kmeans"),
                    score_churn_risk(session, currency, actor, horizon_days=90),
                ]
            )
        result: dict[str, Any] = {
            "id": run.id,
            "kind": run.kind,
            "status": run.status,
            "data_start": run.data_start.isoformat() if run.data_start else None,
            "data_end": run.data_end.isoformat() if run.data_end else None,
            "params": run.params,
            "metrics": run.metrics,
            "followed_by": [{"id": r.id, "kind": r.kind, "status": r.status} for r in followers],
        }
    if common.json:
        print_json(result)
        return
    metrics, params = run.metrics, run.params
    holdout = metrics["holdout"]
    table = Table(title=f"Model run {run.id}: {params['purchase_model']} + Gamma-Gamma")
    table.add_column("what")
    table.add_column("value", justify="right")
    period = f"{run.data_start:%Y-%m-%d} – {run.data_end:%Y-%m-%d}" if run.data_end else "—"
    table.add_row("data", period)
    table.add_row("customers scored", str(metrics["customers"]))
    for name, value in params["purchase"].items():
        table.add_row(f"  {name}", f"{value:.4g}")
    table.add_row("log-likelihood", f"{metrics['log_likelihood']:.1f}")
    table.add_row(
        f"holdout {holdout['holdout_days']} days: predicted / actual repeat purchases",
        f"{holdout['predicted_repeat_purchases']:.0f} / {holdout['actual_repeat_purchases']}",
    )
    table.add_row("  aggregate error", f"{holdout['aggregate_error_percent']} %")
    table.add_row("mean P(alive)", f"{metrics['mean_p_alive']:.2f}")
    table.add_row(f"total 12-month CLV ({params['currency']})", f"{metrics['total_clv_12m']:,.2f}")
    out.print(table)
    for path in holdout.get("plots", []):
        out.print(f"Saved {path}")
    for follower in followers:
        out.print(
            f"Model run {follower.id} ({follower.kind}) stored; "
            f"see `soloist {'segments' if follower.kind == 'segments' else 'churn'}`."
        )
