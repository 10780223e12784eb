"""``soloist recommend EMAIL_OR_ID``: the products to offer a customer next, with the reasons;
``--set repurchase=true`` for shops whose products are bought again (consumables)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options
from soloist.cli.deals import customer_id_of
from soloist.errors import ValidationError


def _setting(pair: str) -> tuple[str, bool]:
    key, _, value = pair.partition("=")
    if value.lower() not in ("true", "false", "on", "off", "yes", "no"):
        raise ValidationError(f"--set {pair}: give KEY=true or KEY=false.", field="set")
    return key.strip(), value.lower() in ("true", "on", "yes")


@shared_options
def recommend(
    common: Common,
    person: Annotated[
        str | None, typer.Argument(metavar="EMAIL_OR_ID", help="The customer.")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many products (1–50).")] = 5,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change a setting: repurchase=true offers products the customer already "
            "bought (consumables); default false.",
        ),
    ] = None,
) -> None:
    """The next products for one customer, best first, each with its reason. The model learns
    from the paid orders' lines (tuned on a validation split, refitted as orders grow) and
    leaves out inactive products, and products already bought unless repurchase is on."""
    from soloist.domain.recommendations import (
        recommend_for_customer,
        recommendation_settings,
        update_recommendation_settings,
    )

    if settings:
        changes = dict(_setting(pair) for pair in settings)
        with common.open_database() as database, database.session() as session:
            current = update_recommendation_settings(session, changes, cli_actor())
        if common.json:
            print_json(current)
        else:
            out.print(", ".join(f"{k}={v}" for k, v in current.items()), markup=False)
        if person is None:
            return
    if person is None:
        with common.open_database() as database, database.read_session() as session:
            current = recommendation_settings(session)
        if common.json:
            print_json(current)
        else:
            out.print(", ".join(f"{k}={v}" for k, v in current.items()), markup=False)
        return
    with common.open_database() as database, database.read_session() as session:
        found = recommend_for_customer(session, customer_id_of(session, person), k)
    rows: list[dict[str, Any]] = [r.public() for r in found]
    if common.json:
        print_json(rows)
        return
    if not rows:
        out.print("Nothing to recommend yet: recommendations need products and paid orders.")
    for rank, row in enumerate(rows, 1):
        stars = (
            f", likely {row['predicted_rating']:.1f}★"
            if row["predicted_rating"] is not None
            else ""
        )
        out.print(f"{rank}. {row['name']} ({row['sku']}) — {row['reason']}{stars}", markup=False)
