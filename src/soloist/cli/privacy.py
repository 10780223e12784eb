"""``soloist privacy export EMAIL_OR_ID --output FILE.zip``: everything held about one person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options
from soloist.cli.deals import customer_id_of

privacy_app = typer.Typer(help="One person's data: hand it over.", no_args_is_help=True)


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
