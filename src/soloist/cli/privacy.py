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


@privacy_app.command("retention")
@shared_options
def privacy_retention(
    common: Common,
    apply: Annotated[
        bool, typer.Option("--apply", help="Erase and strip now (after a dry run).")
    ] = False,
) -> None:
    """The retention policy (retention_inactive_years, retention_message_days): without --apply
    a dry run that says whom and what it would erase, and lets --apply (or the worker) go
    ahead afterwards."""
    import datetime as dt

    from soloist.domain.privacy import run_retention

    with common.open_database() as database:
        result = run_retention(database, cli_actor(), dt.datetime.now(dt.UTC), apply=apply)
    if common.json:
        print_json(result)
        return
    verb = "Would erase" if result["dry_run"] else "Erased"
    out.print(
        f"{verb} {result['customers']} inactive customers"
        + (
            f" (no sign of life since {result['customers_inactive_since'][:10]})"
            if result["customers_inactive_since"]
            else ""
        )
        + f" and strip {result['messages']} old messages"
        + (
            f" (sent before {result['messages_sent_before'][:10]})."
            if result["messages_sent_before"]
            else "."
        ),
        markup=False,
    )
    if result["dry_run"] and result["customer_ids_sample"]:
        sample = ", ".join(str(i) for i in result["customer_ids_sample"])
        out.print(f"First customers: {sample}.", markup=False)
    if result["dry_run"]:
        out.print("Nothing changed. Run again with --apply (or let the worker) to go ahead.")
