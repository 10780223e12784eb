"""``soloist segments`` (RFM segments, clusters, saved rules) and ``soloist churn``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import (
    Common,
    EndDateOption,
    cli_actor,
    out,
    print_json,
    progress_bars,
    shared_options,
)
from soloist.domain.segment_fields import FIELDS
from soloist.errors import ValidationError

# For the help; the clustering (scikit-learn) loads only when a command needs it. A test keeps
# this equal to SEGMENT_METHODS.
METHOD_NAMES = ("rfm", "kmeans", "hierarchical", "hdbscan")

segments_app = typer.Typer(
    help="RFM segments, behaviour clusters and saved rule segments.",
    invoke_without_command=True,
)

if TYPE_CHECKING:
    from soloist.storage.models import ModelRun


def _run_dict(run: ModelRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "data_end": run.data_end.isoformat() if run.data_end else None,
        "params": run.params,
        "metrics": run.metrics,
    }


@segments_app.callback()
@shared_options
def segments(
    common: Common,
    ctx: typer.Context,
    method: Annotated[
        str,
        typer.Option(help=f"rfm, or RFM plus clusters by {', '.join(METHOD_NAMES[1:])}."),
    ] = "rfm",
    end_date: EndDateOption = None,
) -> None:
    """Score RFM segments (and clusters) of every customer and store them as a model run."""
    if ctx.invoked_subcommand is not None:
        return
    with (
        common.open_database() as database,
        database.reader_and_writer() as (reader, store),
        progress_bars(enabled=not common.json, steps_of="Segments") as progress,
    ):
        from soloist.domain.scoring import drop_old_scores, segment_customers

        run = segment_customers(
            reader,
            database.settings.currency,
            cli_actor(),
            method,
            observation_end=end_date,
            progress=progress,
            rates=database.settings.rates,
            store=store,
        )
        drop_old_scores(store, run.kind, database.settings.score_runs_kept, cli_actor())
        result = _run_dict(run)
    if common.json:
        print_json(result)
        return
    metrics = result["metrics"]
    table = Table(title=f"RFM segments (run {result['id']}, {metrics['customers']} customers)")
    for col, justify in (("segment", "left"), ("customers", "right"), ("share", "right"),
                         ("revenue share", "right"), ("average CLV", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in metrics["rfm"]:
        clv = row.get("average_clv")
        table.add_row(
            row["segment"],
            str(row["customers"]),
            f"{row['customer_share']:.0%}",
            f"{row['revenue_share']:.0%}",
            "—" if clv is None else f"{clv:,.2f}",
        )
    out.print(table)
    for warning in metrics.get("warnings") or []:
        out.print(f"[yellow]Note:[/] {warning['text']}")
    movement = metrics.get("movement")
    if movement:
        out.print(f"{movement['changed']} customers changed segment since run "
                  f"{movement['previous_run_id']}.")  # fmt: skip
    clusters = metrics.get("clusters")
    if clusters:
        quality = f"silhouette {clusters['silhouette']:.2f}" if clusters["silhouette"] else ""
        if clusters.get("stability_ari") is not None:
            quality += f", stability (ARI across seeds) {clusters['stability_ari']:.2f}"
        out.print(
            f"\n[bold]{clusters['n_clusters']} clusters[/] by {clusters['method']} ({quality})"
        )
        for c in clusters["clusters"]:
            out.print(f"  {c['cluster']:>2}  {c['customers']:>6}  {c['description']}")


@segments_app.command("save", help="Save a rule segment. Fields: " + ", ".join(FIELDS) + ".")
@shared_options
def segments_save(
    common: Common,
    name: Annotated[str, typer.Argument(help="Segment name.")],
    rule: Annotated[
        str, typer.Argument(help="Filter, e.g. 'churn_risk >= 0.6 and tag = \"vip\"'.")
    ],
    description: Annotated[str | None, typer.Option(help="What the segment is for.")] = None,
) -> None:
    with common.open_database() as database, database.session() as session:
        from soloist.domain.segment_rules import save_rule_segment

        segment, count = save_rule_segment(
            session, name, rule, cli_actor(), database.settings.currency, description
        )
        result = {"id": segment.id, "name": segment.name, "rule": segment.rule, "customers": count}
    if common.json:
        print_json(result)
    else:
        out.print(f"Saved segment [bold]{result['name']}[/]: {count} customers match now.")


@segments_app.command("save-list")
@shared_options
def segments_save_list(
    common: Common,
    name: Annotated[str, typer.Argument(help="Segment name (an existing list is replaced).")],
    customers: Annotated[
        Path,
        typer.Option(
            "--customers",
            help="A file of customer ids or e-mail addresses, one a line (# comments allowed).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
) -> None:
    """Save a list segment of exactly these customers (for a campaign to a chosen few)."""
    from soloist.domain.campaigns import find_customers, save_list_segment

    try:
        lines = customers.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{customers.name} is not UTF-8 text; save it as UTF-8.") from exc
    with common.open_database() as database, database.session() as session:
        ids = find_customers(session, lines)
        segment = save_list_segment(session, name, ids, cli_actor())
        result = {
            "id": segment.id,
            "name": segment.name,
            "kind": segment.kind,
            "customers": len(ids),
        }
    if common.json:
        print_json(result)
    else:
        out.print(f"Saved the list [bold]{result['name']}[/] of {len(ids)} customers.")


@segments_app.command("list")
@shared_options
def segments_list(common: Common) -> None:
    """Every segment with its size (rule segments counted live)."""
    with common.open_database() as database, database.read_session() as session:
        from soloist.domain.segment_rules import list_segments

        rows = list_segments(session, database.settings.currency)
    if common.json:
        print_json(rows)
        return
    table = Table(title="Segments")
    for col in ("name", "kind", "customers", "rule / description"):
        table.add_column(col)
    for row in rows:
        size = "error" if row["customers"] is None else str(row["customers"])
        table.add_row(row["name"], row["kind"], size, row["rule"] or row["description"] or "")
    out.print(table)


@shared_options
def churn(
    common: Common,
    horizon_days: Annotated[
        int,
        typer.Option(
            help="Churned = no purchase (for a subscription: a cancellation) within this many days."
        ),
    ] = 90,
    end_date: EndDateOption = None,
) -> None:
    """Compare churn models on a time-split holdout, score every customer, store the run.

    Every model that works reports; one that does not is named with the reason. A subscription
    business needs no orders: its subscribers are scored by the subscription model."""
    with (
        common.open_database() as database,
        database.reader_and_writer() as (reader, store),
        progress_bars(enabled=not common.json, steps_of="Churn") as progress,
    ):
        from soloist.domain.scoring import drop_old_scores, score_churn_risk

        run = score_churn_risk(
            reader,
            database.settings.currency,
            cli_actor(),
            horizon_days=horizon_days,
            observation_end=end_date,
            progress=progress,
            rates=database.settings.rates,
            store=store,
        )
        drop_old_scores(store, run.kind, database.settings.score_runs_kept, cli_actor())
        result = _run_dict(run)
    if common.json:
        print_json(result)
        return
    m = result["metrics"]
    if m.get("comparison"):
        table = _quality_table(
            f"Churn models on the holdout from {m['cutoffs']['holdout']} "
            f"({m['horizon_days']} days); chosen: {m['chosen']}",
            m["comparison"],
            m["chosen"],
        )
        out.print(table)
    _print_failures("churn", m.get("failed") or {})
    for note in m.get("notes") or []:
        out.print(f"Note: {note}.", markup=False)
    if m.get("order_churn_message"):
        out.print(f"Churn from orders: {m['order_churn_message']}; scored from subscriptions.")
    mean = m.get("mean_churn_risk")
    out.print(
        f"{m['customers_scored']} customers scored"
        + (f"; mean risk {mean:.0%}" if mean is not None else "")
        + f", {m['high_risk_customers']} at 70 % or more."
    )
    _print_subscription(m.get("subscription"))
    clv = m.get("clv_comparison")
    if clv and clv.get("comparison"):
        out.print(
            f"CLV over {clv['horizon_days']} days on the holdout: best {clv['chosen']} (RMSE "
            + ", ".join(f"{k} {v['rmse']:.2f}" for k, v in clv["comparison"].items())
            + ")."
        )
    elif clv and clv.get("message"):
        out.print(f"CLV comparison: {clv['message']}.")
    if clv:
        _print_failures("CLV", clv.get("failed") or {})
    for kind, block in (m.get("satisfaction_drivers") or {}).items():
        drivers = [d for d in block.get("drivers", []) if d["significant"]][:3]
        if drivers:
            parts = [
                f"{d['description']}: {d['effect']:+.2f} "
                f"[{d['ci_lower']:+.2f}, {d['ci_upper']:+.2f}]"
                for d in drivers
            ]
            out.print(f"{kind.upper()} drivers: " + "; ".join(parts))


def _quality_table(title: str, comparison: dict[str, Any], chosen: str | None) -> Table:
    """ROC AUC, PR AUC, Brier and top-decile lift of each model, the chosen one ticked."""
    table = Table(title=title)
    for col in ("model", "ROC AUC", "PR AUC", "Brier", "top-decile lift"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, q in comparison.items():
        lift = q.get("top_decile_lift")
        auc = f"{q['roc_auc']:.3f}"
        if q.get("roc_auc_sd") is not None:
            auc += f" ± {q['roc_auc_sd']:.3f}"
        table.add_row(
            name + (" ✓" if name == chosen else ""),
            auc,
            f"{q['pr_auc']:.3f}",
            f"{q['brier']:.3f}",
            "—" if lift is None else f"{lift:.2f}",
        )
    return table


def _print_failures(what: str, failed: dict[str, str]) -> None:
    for name, why in failed.items():
        out.print(f"{what} model {name} did not work: {why}", markup=False)


def _print_subscription(sub: dict[str, Any] | None) -> None:
    """The subscription model's cross-validated quality, like the order models' holdout."""
    if not sub:
        return
    if sub.get("cross_validation"):
        base = sub.get("base_rate")
        out.print(
            _quality_table(
                f"Subscription churn models, {sub.get('folds', 5)}-fold cross-validation on the "
                f"{sub.get('rows')} subscriptions active on or after {sub.get('cutoff')} ("
                + (f"{base:.0%} cancelled within {sub.get('horizon_days')} days" if base else "")
                + f"); chosen: {sub['chosen']}",
                sub["cross_validation"],
                sub["chosen"],
            )
        )
    for column, why in (sub.get("left_out") or {}).items():
        out.print(f"Subscription feature {column!r} left out: {why}.", markup=False)
    _print_failures("Subscription", sub.get("failed") or {})
    if sub.get("message"):
        out.print(f"Subscriptions: {sub['message']}.", markup=False)
    if sub.get("subscriptions_scored") is not None:
        out.print(f"{sub['subscriptions_scored']} active subscriptions scored.")
