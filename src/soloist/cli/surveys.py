"""``soloist survey …``: a survey link (NPS, CSAT, CES) for one customer, printed or mailed, and
the survey settings (how long a link works, the edit window, CSAT on resolving a ticket)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.errors import ValidationError

survey_app = typer.Typer(
    help="Survey links: a signed, single-use link to an NPS, CSAT or CES question.",
    no_args_is_help=True,
)

KINDS = ("nps", "csat", "ces")
SKIPPED = {
    "no_address": "Customer {id} has no e-mail address; make the link without --send.",
    "hard_bounce": "Customer {id}'s e-mail address bounced for good; nothing was sent.",
    "complaint": "Customer {id} complained about our mail; nothing was sent.",
    "inactive": "Customer {id} is not active.",
}


@survey_app.command("link")
@shared_options
def link_command(
    common: Common,
    customer: Annotated[
        str, typer.Argument(help="The customer's id or e-mail address.", metavar="CUSTOMER")
    ],
    kind: Annotated[str, typer.Option("--kind", help="nps, csat or ces.")],
    ticket: Annotated[
        int | None, typer.Option("--ticket", help="The ticket it asks about.", min=1)
    ] = None,
    order: Annotated[
        int | None, typer.Option("--order", help="The order it asks about.", min=1)
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="Mail the link to the customer (their language).")
    ] = False,
) -> None:
    """Make a survey link and print its URL (only now: just a hash of its secret is kept)."""
    from soloist.domain.surveys import create_survey_link, find_survey_customer, send_survey_link

    if kind not in KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(KINDS)}.", param_hint="--kind")
    actor = cli_actor()
    with common.open_database() as database:
        with database.read_session() as session:
            customer_id = find_survey_customer(session, customer).id
        if send:
            sent = send_survey_link(
                database,
                customer_id=customer_id,
                kind=kind,
                actor=actor,
                ticket_id=ticket,
                order_id=order,
            )
            if sent.link_id is None or sent.url is None:
                reason = SKIPPED.get(sent.skipped or "", "No survey was sent to customer {id}.")
                raise ValidationError(reason.format(id=customer_id), field="customer")
            link_id, url, sent_to = sent.link_id, sent.url, sent.sent_to
        else:
            with database.session() as session:
                link, url = create_survey_link(
                    session,
                    database.keyring,
                    database.settings.public_url,
                    customer_id=customer_id,
                    kind=kind,
                    actor=actor,
                    ticket_id=ticket,
                    order_id=order,
                )
                link_id, sent_to = link.id, None
        from soloist.domain.surveys import get_survey_link

        with database.read_session() as session:
            stored = get_survey_link(session, link_id)
            result: dict[str, Any] = {
                "id": stored.id,
                "url": url,
                "kind": stored.kind,
                "customer_id": stored.customer_id,
                "ticket_id": stored.ticket_id,
                "order_id": stored.order_id,
                "expires_at": stored.expires_at.isoformat(),
                "sent_at": stored.sent_at.isoformat() if stored.sent_at else None,
                "sent_to": sent_to,
            }
    if common.json:
        print_json(result)
        return
    typer.echo(url)
    if sent_to:
        err.print(f"Mailed to {sent_to}; the link works until {result['expires_at']}.")


@survey_app.command("settings")
@shared_options
def settings_command(
    common: Common,
    expiry_days: Annotated[
        int | None, typer.Option("--expiry-days", help="A new link works this many days.")
    ] = None,
    edit_minutes: Annotated[
        int | None,
        typer.Option("--edit-minutes", help="An answer may be changed this long; 0: never."),
    ] = None,
    csat_on_resolve: Annotated[
        bool | None,
        typer.Option(
            "--csat-on-resolve/--no-csat-on-resolve",
            help="Mail a CSAT survey when a ticket is resolved.",
        ),
    ] = None,
) -> None:
    """Show the survey settings, or change the ones given."""
    from soloist.domain.surveys import save_survey_settings, survey_settings

    changes = {
        name: value
        for name, value in (
            ("expiry_days", expiry_days),
            ("edit_minutes", edit_minutes),
            ("csat_on_resolve", csat_on_resolve),
        )
        if value is not None
    }
    with common.open_database() as database, database.session() as session:
        current = (
            save_survey_settings(session, cli_actor(), **changes)
            if changes
            else survey_settings(session)
        )
        shown = current.model_dump()
    if common.json:
        print_json(shown)
        return
    for name, value in shown.items():
        out.print(f"{name}: {value}", highlight=False)
