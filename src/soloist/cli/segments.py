"""``soloist segments`` (RFM segments, clusters, saved rules) and ``soloist churn``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.domain.segment_rules import FIELDS, list_segments, save_rule_segment
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
) -> None:
    """Score RFM segments (and clusters) of every customer and store them as a model run."""
    if ctx.invoked_subcommand is not None:
        return
    with common.open_database() as database, database.session() as session:
        spinner = err.status("Segmenting customers…", spinner="dots")
        with nullcontext() if common.json else spinner:
            from soloist.domain.scoring import segment_customers

            run = segment_customers(session, database.settings.currency, cli_actor(), method)
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
    with common.open_database() as database, database.session() as session:
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
        int, typer.Option(help="Churned = no purchase within this many days.")
    ] = 90,
) -> None:
    """Compare churn models on a time-split holdout, score every customer, store the run."""
    with common.open_database() as database, database.session() as session:
        spinner = err.status("Scoring churn risk…", spinner="dots")
        with nullcontext() if common.json else spinner:
            from soloist.domain.scoring import score_churn_risk

            run = score_churn_risk(
                session, database.settings.currency, cli_actor(), horizon_days=horizon_days
            )
        result = _run_dict(run)
    if common.json:
        print_json(result)
        return
    m = result["metrics"]
    table = Table(
        title=f"Churn models on the holdout from {m['cutoffs']['holdout']} "
        f"({m['horizon_days']} days); chosen: {m['chosen']}"
    )
    for col in ("model", "ROC AUC", "PR AUC", "Brier", "top-decile lift"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, q in m["comparison"].items():
        lift = q["top_decile_lift"]
        table.add_row(
            name + (" ✓" if name == m["chosen"] else ""),
            f"{q['roc_auc']:.3f}",
            f"{q['pr_auc']:.3f}",
            f"{q['brier']:.3f}",
            "—" if lift is None else f"{lift:.2f}",
        )
    out.print(table)
    out.print(
        f"{m['customers_scored']} customers scored; mean risk {m['mean_churn_risk']:.0%}, "
        f"{m['high_risk_customers']} at 70 % or more."
    )
    clv = m["clv_comparison"]
    out.print(
        f"CLV over {clv['horizon_days']} days on the holdout: best {clv['chosen']} (RMSE "
        + ", ".join(f"{k} {v['rmse']:.2f}" for k, v in clv["comparison"].items())
        + ")."
    )
    for kind, block in (m.get("satisfaction_drivers") or {}).items():
        drivers = [d for d in block.get("drivers", []) if d["significant"]][:3]
        if drivers:
            parts = [
                f"{d['description']}: {d['effect']:+.2f} "
                f"[{d['ci_lower']:+.2f}, {d['ci_upper']:+.2f}]"
                for d in drivers
            ]
            out.print(f"{kind.upper()} drivers: " + "; ".join(parts))
