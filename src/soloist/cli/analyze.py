"""``soloist analyze``: fit the CLV models and score every customer."""

from __future__ import annotations

import dataclasses
import datetime as dt
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
    work_bars,
)
from soloist.errors import UsageError

# The models' names, for the help; the command's modules (SciPy, scikit-learn) load only when it
# runs, so that every other command starts at once. A test keeps this equal to PURCHASE_MODELS.
MODEL_NAMES = ("bg-nbd", "mbg-nbd", "pareto-nbd")


@shared_options
def analyze(
    common: Common,
    model: Annotated[
        str,
        typer.Option(
            help=f"Purchase model: auto (the best on the holdout) or {', '.join(MODEL_NAMES)}."
        ),
    ] = "auto",
    holdout_days: Annotated[
        int | None,
        typer.Option(
            help="Days held out to check the models (default 90, or a third of the data)."
        ),
    ] = None,
    discount_rate: Annotated[float, typer.Option(help="Annual discount rate for CLV.")] = 0.10,
    end_date: Annotated[
        dt.date | None,
        typer.Option(
            parser=parse_date,
            metavar="<date>",
            help="Last day of data, for every analysis of the run (default: the last order).",
        ),
    ] = None,
    clv_only: Annotated[
        bool, typer.Option("--clv-only", help="Only the CLV models: no segments, no churn.")
    ] = False,
    plots: Annotated[
        Path | None, typer.Option(help="Folder to save the holdout check figures (PNG) in.")
    ] = None,
) -> None:
    """Compare BG/NBD, MBG/NBD and Pareto/NBD on a holdout, keep the best with Gamma-Gamma,
    store scores; then segment the customers (RFM and K-Means clusters) and score churn risk
    with reasons."""
    from soloist.domain.scoring import AnalyzeOptions, run_analyses

    if model != "auto" and model not in MODEL_NAMES:
        raise UsageError(f"Unknown model {model!r}; use auto or one of {', '.join(MODEL_NAMES)}.")
    if not 0 <= discount_rate < 1:
        raise UsageError(
            f"--discount-rate is a yearly rate from 0 to 1 (0.10 is 10 %), not {discount_rate}."
        )
    if holdout_days is not None and holdout_days < 7:
        raise UsageError(f"--holdout-days must be at least 7, not {holdout_days}.")
    options = AnalyzeOptions(
        model=None if model == "auto" else model,
        holdout_days=holdout_days,
        annual_discount_rate=discount_rate,
        observation_end=end_date,
        plots_dir=plots,
    )
    works = {"clv": "CLV models", "segments": "Segments", "churn": "Churn"}
    with (
        common.open_database() as database,
        work_bars(works, enabled=not common.json) as progress,
    ):
        options = dataclasses.replace(options, rates=database.settings.rates)
        analyses = run_analyses(
            database,
            database.settings.currency,
            cli_actor(),
            options,
            clv_only=clv_only,
            progress=progress,
        )
    result = _run_result(analyses.clv)
    result["followed_by"] = analyses.followed_by
    if common.json:
        print_json(result)
    else:
        _print_run(result)
    if analyses.any_failed:
        raise typer.Exit(1)


def _run_result(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "data_start": run.data_start.isoformat() if run.data_start else None,
        "data_end": run.data_end.isoformat() if run.data_end else None,
        "params": run.params,
        "metrics": run.metrics,
    }


def _print_subscription_run(result: dict[str, Any]) -> None:
    metrics, params = result["metrics"], result["params"]
    holdout, currency = metrics["holdout"], params["currency"]
    table = Table(title=f"Model run {result['id']}: subscription retention (sBG)")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("data", f"{result['data_start'][:10]} – {result['data_end'][:10]}")
    table.add_row("subscriptions", f"{metrics['subscriptions']:,}")
    table.add_row("  cancelled", f"{metrics['cancelled']:,}")
    table.add_row("customers scored", f"{metrics['customers']:,}")
    table.add_row("  still subscribed", f"{metrics['running']:,}")
    for name, value in params["purchase"].items():
        table.add_row(f"  {name}", f"{value:.4g}")
    table.add_row(
        "5-fold check: predicted / actual cancellations over the periods watched",
        f"{holdout['predicted_cancellations']:,.0f} / {holdout['actual_cancellations']:,}",
    )
    error = holdout["aggregate_error_percent"]
    table.add_row("  aggregate error", "—" if error is None else f"{error:+.1f} %")
    table.add_row("  RMSE per subscription", f"{holdout['rmse']:.3f}")
    table.add_row(f"total 12-month CLV ({currency})", f"{metrics['total_clv_12m']:,.2f} {currency}")
    out.print(table)
    out.print(f"Why: {params['model_choice']}.", highlight=False)
    for note in params.get("notes", []):
        out.print(f"Note: {note['text']}.", highlight=False)


def _print_run(result: dict[str, Any]) -> None:
    if result["params"].get("basis") == "subscriptions":
        _print_subscription_run(result)
        _print_followers(result["followed_by"])
        return
    metrics, params = result["metrics"], result["params"]
    holdout, comparison = metrics["holdout"], metrics["model_comparison"]
    currency = params["currency"]
    spend = "Gamma-Gamma" if params["spend_model"] == "gamma-gamma" else "mean order value"
    table = Table(title=f"Model run {result['id']}: {params['purchase_model']} + {spend}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("data", f"{result['data_start'][:10]} – {result['data_end'][:10]}")
    table.add_row("customers scored", f"{metrics['customers']:,}")
    table.add_row("  of whom bought again", f"{metrics['repeat_customers']:,}")
    for name, value in params["purchase"].items():
        table.add_row(f"  {name}", f"{value:.4g}")
    if params["purchase_penalizer"]:
        table.add_row("  penalty (cross-validated)", f"{params['purchase_penalizer']:g}")
    table.add_row("log-likelihood", f"{metrics['log_likelihood']:,.1f}")
    table.add_row(
        f"holdout {holdout['holdout_days']} days from {holdout['calibration_end']}: "
        "predicted / actual repeat purchases",
        f"{holdout['predicted_repeat_purchases']:,.0f} / {holdout['actual_repeat_purchases']:,}",
    )
    error = holdout["aggregate_error_percent"]
    table.add_row(
        "  aggregate error",
        "— (no repeat purchase in the holdout)" if error is None else f"{error:+.1f} %",
    )
    table.add_row("  RMSE per customer", f"{holdout['rmse']:.3f}")
    mean_alive = metrics["mean_p_alive"]
    table.add_row("mean P(alive)", "—" if mean_alive is None else f"{mean_alive:.2f}")
    table.add_row(f"total 12-month CLV ({currency})", f"{metrics['total_clv_12m']:,.2f} {currency}")
    out.print(table)
    models = Table(title="Purchase models on the holdout")
    for column in ("model", "log-likelihood", "predicted", "aggregate error", "RMSE", "penalty"):
        models.add_column(column, justify="left" if column == "model" else "right")
    for name, c in comparison["candidates"].items():
        chosen = " (chosen)" if name == comparison["chosen"] else ""
        models.add_row(
            name + chosen,
            f"{c['log_likelihood']:,.1f}",
            f"{c['predicted_repeat_purchases']:,.0f}",
            "—"
            if c["aggregate_error_percent"] is None
            else f"{c['aggregate_error_percent']:+.1f} %",
            f"{c['rmse']:.4f}",
            f"{c['penalizer']:g}" if c["penalizer"] else "",
        )
    for name in comparison["failed"]:
        models.add_row(name, "[red]not fitted[/]", "", "", "", "")
    out.print(models)
    for name, why in comparison["failed"].items():
        out.print(f"{name} not fitted: {why}", highlight=False)
    out.print(f"Why: {comparison['reason']}.", highlight=False)
    for note in params.get("notes", []):
        out.print(f"Note: {note['text']}.", highlight=False)
    for path in holdout.get("plots", []):
        out.print(f"Saved {path}")
    _print_followers(result["followed_by"])


def _print_followers(followers: list[dict[str, Any]]) -> None:
    for follower in followers:
        if follower["status"] == "failed":
            err.print(
                f"[bold red]Error:[/] the {follower['kind']} analysis failed: {follower['error']}",
                highlight=False,
            )
            continue
        out.print(
            f"Model run {follower['id']} ({follower['kind']}) stored; "
            f"see `soloist {'segments' if follower['kind'] == 'segments' else 'churn'}`."
        )
