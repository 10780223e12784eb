"""``soloist customers duplicates`` and ``soloist customers merge KEEP OTHER``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options

customers_app = typer.Typer(help="Customers: find and merge duplicates.", no_args_is_help=True)


@customers_app.command("duplicates")
@shared_options
def duplicates(
    common: Common,
    limit: Annotated[int, typer.Option("--limit", help="At most this many pairs.")] = 100,
) -> None:
    """List customers who are probably one person (merge them with `customers merge`)."""
    from soloist.domain.customers import find_duplicate_customers

    with common.open_database() as database, database.session() as session:
        pairs = find_duplicate_customers(session, limit=limit)
    if common.json:
        print_json([pair.to_dict() for pair in pairs])
        return
    if not pairs:
        out.print("No likely duplicates.")
        return
    table = Table(title="Likely duplicate customers")
    for column in ("keep", "merge", "names", "score", "why"):
        table.add_column(column)
    for pair in pairs:
        table.add_row(
            str(pair.keep_id),
            str(pair.merge_id),
            f"{pair.keep_name} / {pair.merge_name}",
            f"{pair.score:.2f}",
            "; ".join(pair.reasons),
        )
    out.print(table)
    out.print("Merge a pair with: soloist customers merge KEEP MERGE")


@customers_app.command("merge")
@shared_options
def merge(
    common: Common,
    keep: Annotated[int, typer.Argument(help="Id of the customer to keep.")],
    other: Annotated[int, typer.Argument(help="Id of the customer merged into it.")],
) -> None:
    """Move orders, points, feedback and history of OTHER to KEEP; OTHER becomes "merged"."""
    from soloist.domain.customers import merge_customers

    with common.open_database() as database, database.session() as session:
        result = merge_customers(session, keep, other, cli_actor())
    if common.json:
        print_json(result.to_dict())
        return
    moved = ", ".join(f"{n} {label}" for label, n in sorted(result.moved.items())) or "nothing"
    out.print(f"Merged customer {other} into {keep}: moved {moved}.", highlight=False)
