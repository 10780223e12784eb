"""``soloist privacy export EMAIL_OR_ID --output FILE.zip`` (everything held about one person)
and ``soloist privacy erase EMAIL_OR_ID --yes`` (their personal data, for good)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options
from soloist.cli.consents import consents, wording_app
from soloist.cli.deals import customer_id_of
from soloist.errors import ValidationError

privacy_app = typer.Typer(
    help="One person's data: hand it over, erase it, their consents and the wordings.",
    no_args_is_help=True,
)
privacy_app.command("consents")(shared_options(consents))
privacy_app.add_typer(wording_app, name="wording")


@privacy_app.command("export")
@shared_options
def privacy_export(
    common: Common,
    person: Annotated[str, typer.Argument(metavar="EMAIL_OR_ID", help="The customer.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .zip file to write.")],
) -> None:
    """Write everything held about a customer (JSON and CSV, decrypted, with a README in their
    language) to a zip file; audited."""
    from soloist.domain.privacy import export_person

    with common.open_database() as database, database.session() as session:
        result = export_person(session, customer_id_of(session, person), output, cli_actor())
    if common.json:
        print_json(result.to_dict())
        return
    records = sum(result.tables.values())
    out.print(f"Wrote {records} records of {len(result.tables)} kinds to {result.path}.")


@privacy_app.command("erase")
@shared_options
def privacy_erase(
    common: Common,
    person: Annotated[str, typer.Argument(metavar="EMAIL_OR_ID", help="The customer.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask; erase.")] = False,
) -> None:
    """Erase a customer's personal data for good; their orders and points stay, anonymised, and
    their e-mail address stays suppressed from campaigns (as a keyed hash only)."""
    from soloist.domain.privacy import erase_and_journal

    with common.open_database() as database:
        with database.session() as session:
            customer_id = customer_id_of(session, person)
        if not yes:
            if not sys.stdin.isatty():
                raise ValidationError("Erasing cannot be undone: add --yes to go ahead.")
            typer.confirm(f"Erase customer {customer_id} for good?", abort=True)
        erasure = erase_and_journal(database, customer_id, cli_actor())
    if common.json:
        print_json(erasure.to_dict())
        return
    kinds = ", ".join(f"{name} {count}" for name, count in erasure.changed.items() if count)
    out.print(f"Erased customer {customer_id} ({kinds}). Orders and points stay, anonymised.")
