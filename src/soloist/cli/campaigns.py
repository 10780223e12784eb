"""``soloist campaign …``: write a campaign to a segment (one version per language), preview it,
send a test, send it in the foreground, schedule, pause or cancel it, and see what it did.

The A/B commands (``variant``, ``experiment``, ``guide``, ``winner``) are in
:mod:`soloist.cli.experiments`, merged into this app by :mod:`soloist.cli.main`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soloist.cli.common import Common, cli_actor, err, out, print_json, shared_options
from soloist.errors import ChannelUnavailableError, TemplateError, ValidationError

if TYPE_CHECKING:
    from soloist.domain.campaigns import SendReport
    from soloist.storage.database import Database

campaign_app = typer.Typer(
    help="Campaigns: one message per language to a segment; preview, test, send, results; "
    "A/B tests and holdouts.",
    no_args_is_help=True,
)


class SendTime(StrEnum):
    """When each recipient's message goes."""

    now = "now"
    optimised = "optimised"


CampaignArg = Annotated[int, typer.Argument(help="The campaign's id (`soloist campaign list`).")]
SubjectOption = Annotated[
    str, typer.Option("--subject", help="The subject, a template: '{{ customer.first_name }}, …'.")
]
BodyOption = Annotated[
    Path,
    typer.Option(
        "--body-file",
        help="The message: HTML, or plain text (paragraphs become HTML). A Jinja2 template "
        "with customer.name, first_name, points, tier, … and unsubscribe_url.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
TextOption = Annotated[
    Path | None,
    typer.Option(
        "--text-file",
        help="A plain-text part of your own (default: made from the body).",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
CustomerOption = Annotated[
    str | None,
    typer.Option(
        "--customer", help="As this customer (an id or e-mail) would get it; default: a sample."
    ),
]
LanguageChoice = Annotated[
    str | None, typer.Option("--language", help="en or zh-CN (default: the customer's).")
]


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8.", file=str(path)
        ) from exc


@contextmanager
def naming_files(body_file: Path, text_file: Path | None) -> Iterator[None]:
    """A template error names the file (or the --subject) it is in, beside the line."""
    try:
        yield
    except TemplateError as exc:
        part = exc.details.get("part")
        if part == "subject":
            where = "--subject"
        elif part == "text" and text_file is not None:
            where = text_file.name
        else:
            where = body_file.name
        raise TemplateError(f"{where}: {exc.message}", **exc.details) from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@campaign_app.command("create")
@shared_options
def create_command(
    common: Common,
    name: Annotated[str, typer.Argument(help="The campaign's name (for you, not the customers).")],
    segment: Annotated[
        str, typer.Option("--segment", help="The segment's name or id (`soloist segments list`).")
    ],
    subject: SubjectOption,
    body_file: BodyOption,
    text_file: TextOption = None,
    language: Annotated[
        str, typer.Option(help="The language of this version: en or zh-CN.")
    ] = "en",
    channel: Annotated[str, typer.Option(help="email, sms or webhook.")] = "email",
    attribution_days: Annotated[
        int | None,
        typer.Option(help="Count orders this many days after the message (default: settings)."),
    ] = None,
    holdout: Annotated[
        float | None,
        typer.Option(
            "--holdout",
            help="A share of the list (0 to 0.5) that gets nothing, to measure what the "
            "campaign caused.",
        ),
    ] = None,
    send_time: Annotated[
        SendTime | None,
        typer.Option(
            "--send-time", help="now, or optimised: each customer's best hour within --window."
        ),
    ] = None,
    window: Annotated[
        int | None,
        typer.Option("--window", help="Hours an optimised send spreads over (1-168)."),
    ] = None,
) -> None:
    """Create a draft campaign to a segment; add other languages with `translate`, A/B
    variants with `variant`."""
    from soloist.domain.campaigns import (
        campaign_summary,
        count_audience,
        create_campaign,
        update_campaign,
    )

    body = read_text(body_file)
    text = read_text(text_file) if text_file is not None else None
    with (
        common.open_database() as database,
        naming_files(body_file, text_file),
        database.session() as session,
    ):
        campaign = create_campaign(
            session,
            name=name,
            segment=segment,
            subject=subject,
            body=body,
            actor=cli_actor(),
            channel=channel,
            language=language,
            text_body=text,
            attribution_days=attribution_days or database.settings.attribution_days,
        )
        if holdout is not None or send_time is not None or window is not None:
            update_campaign(
                session,
                campaign.id,
                cli_actor(),
                holdout_share=holdout,
                send_time=None if send_time is None else send_time.value,
                send_window_hours=window,
            )
        result = campaign_summary(session, campaign)
        result["audience"] = count_audience(session, campaign, database.settings.currency)
    if common.json:
        print_json(result)
        return
    audience = result["audience"]
    out.print(
        f"Created campaign [bold]{result['id']}[/] ({result['name']}), a draft to "
        f"{result['segment']}: {audience['reachable']} of {audience['segment']} customers can "
        "be reached now.",
        highlight=False,
    )
    if result["holdout_share"]:
        out.print(
            f"{result['holdout_share']:.0%} of them are held out at random to measure what it "
            "causes.",
            highlight=False,
        )
    out.print(
        f"Next: `soloist campaign preview {result['id']}`, `soloist campaign test "
        f"{result['id']} --to YOU@EXAMPLE.COM`, then `soloist campaign send {result['id']}`.",
        highlight=False,
    )


@campaign_app.command("translate")
@shared_options
def translate_command(
    common: Common,
    campaign_id: CampaignArg,
    language: Annotated[str, typer.Option("--language", help="en or zh-CN.")],
    subject: SubjectOption,
    body_file: BodyOption,
    text_file: TextOption = None,
) -> None:
    """Add (or replace) the campaign's version in one language; each customer gets theirs."""
    from soloist.domain.campaigns import campaign_summary, get_campaign, set_content

    body = read_text(body_file)
    text = read_text(text_file) if text_file is not None else None
    with (
        common.open_database() as database,
        naming_files(body_file, text_file),
        database.session() as session,
    ):
        content = set_content(
            session, campaign_id, language, subject, body, cli_actor(), text_body=text
        )
        result = campaign_summary(session, get_campaign(session, campaign_id))
        saved = content.language
    if common.json:
        print_json(result)
        return
    out.print(
        f"Saved the {saved} version of campaign {campaign_id}; it has "
        f"{', '.join(result['languages'])}.",
        highlight=False,
    )


@campaign_app.command("preview")
@shared_options
def preview_command(
    common: Common,
    campaign_id: CampaignArg,
    customer: CustomerOption = None,
    language: LanguageChoice = None,
) -> None:
    """Show the message as one customer would get it (subject and plain text; --json adds
    the HTML)."""
    from soloist.domain.campaigns import preview_campaign

    with common.open_database() as database, database.read_session() as session:
        result = preview_campaign(
            session,
            campaign_id,
            database.settings,
            database.keyring,
            _now(),
            customer=customer,
            language=language,
        )
    if common.json:
        print_json(result)
        return
    who = result["customer"]
    err.print(
        f"Campaign {campaign_id}, the {result['language']} version, as {who['name']} "
        f"({'a sample customer' if not who['id'] else 'customer ' + str(who['id'])}) gets it:",
        highlight=False,
    )
    out.print(f"Subject: {result['subject']}\n", highlight=False, markup=False)
    out.print(result["text"], highlight=False, markup=False)


@campaign_app.command("test")
@shared_options
def send_test_command(
    common: Common,
    campaign_id: CampaignArg,
    to: Annotated[str, typer.Option("--to", help="Your own address: the test goes there.")],
    customer: CustomerOption = None,
    language: LanguageChoice = None,
) -> None:
    """Send the message, as a customer would get it, to your own address (marked [Test]; its
    unsubscribe link changes nothing)."""
    from soloist.domain.campaigns import send_test_message

    with common.open_database() as database:
        result = send_test_message(database, campaign_id, to, customer=customer, language=language)
    if common.json:
        print_json(result)
        return
    out.print(
        f"Sent a test of campaign {campaign_id} ({result['language']}) to {result['sent_to']}: "
        f"{result['subject']}",
        highlight=False,
        markup=False,
    )


def report_dict(report: SendReport) -> dict[str, Any]:
    data = asdict(report)
    data["next_retry_at"] = report.next_retry_at.isoformat() if report.next_retry_at else None
    return data


@campaign_app.command("send")
@shared_options
def send_command(common: Common, campaign_id: CampaignArg) -> None:
    """Send the campaign now, in the foreground (a draft's recipient list is frozen first). If
    it stops (Ctrl-C, a crash, the server away), the same command continues where it stopped."""
    from soloist.domain.campaigns import CampaignStateError, campaign_summary, get_campaign

    with common.open_database() as database:
        with database.read_session() as session:
            before = campaign_summary(session, get_campaign(session, campaign_id))
        if before["status"] == "cancelled":
            raise CampaignStateError(
                f"Campaign {campaign_id} is cancelled; it cannot be sent.", status="cancelled"
            )
        report = send_now(common, database, campaign_id, before["messages"])
    if common.json:
        print_json(report_dict(report))
        return
    print_send_report(report, before["status"])


def send_now(
    common: Common, database: Database, campaign_id: int, counts: dict[str, int]
) -> SendReport:
    """Send what is due of the campaign in the foreground, with a progress bar."""
    from soloist.domain.campaigns import send_campaign

    done = sum(counts.get(s, 0) for s in ("sent", "failed", "bounced"))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=common.json,
        disable=common.json,
    ) as bar:
        task = bar.add_task(f"Campaign {campaign_id}", total=None)

        def progress(sent: int, total: int) -> None:
            bar.update(task, completed=min(done + sent, total), total=max(total, 1))

        try:
            return send_campaign(database, campaign_id, cli_actor(), on_progress=progress)
        except ChannelUnavailableError as exc:
            raise ChannelUnavailableError(
                f"{exc.message} Nothing more was sent; once the server is back, run "
                f"`soloist campaign send {campaign_id}` again to continue where it stopped.",
                **exc.details,
            ) from None
        except KeyboardInterrupt:
            err.print(f"Stopped. `soloist campaign send {campaign_id}` continues where it stopped.")
            raise typer.Exit(130) from None


def print_send_report(report: SendReport, before: str) -> None:
    number = report.campaign_id
    if before == "sent":
        out.print(f"Campaign {number} was sent already; nothing more to send.")
        return
    parts = [f"{report.sent} sent"]
    if report.failed or report.bounced:
        parts.append(f"{report.failed} failed, {report.bounced} bounced (addresses suppressed)")
    if report.resent_in_doubt:
        parts.append(f"{report.resent_in_doubt} sent again after an interrupted send")
    out.print(f"Campaign {number} is {report.status}: {', '.join(parts)}.", highlight=False)
    if report.status == "sending" and report.retry_later:
        when = report.next_retry_at.isoformat(timespec="minutes") if report.next_retry_at else ""
        out.print(
            f"{report.retry_later} waiting for a retry (from {when}): `soloist worker` sends "
            f"them, or run `soloist campaign send {number}` again then.",
            highlight=False,
        )
    elif report.status in ("paused", "cancelled"):
        out.print(f"It was {report.status} while sending; the rest was not sent.")
    out.print(f"Results: `soloist campaign status {number}`.")


@campaign_app.command("status")
@shared_options
def status_command(common: Common, campaign_id: CampaignArg) -> None:
    """What the campaign did: recipients, sent, failed, suppressed, clicks, and the orders and
    revenue that followed within its attribution window; an A/B test's variants and verdict,
    and what a holdout says the campaign caused."""
    from soloist.cli.experiments import print_experiment, print_holdout
    from soloist.domain.campaigns import campaign_results, experiment_results, holdout_effect

    now = _now()
    with common.open_database() as database, database.read_session() as session:
        currency = database.settings.currency
        result = campaign_results(session, campaign_id, currency)
        result["experiment"] = experiment_results(session, campaign_id, currency, now)
        result["holdout"] = holdout_effect(session, campaign_id, currency, now)
    if common.json:
        print_json(result)
        return
    table = Table(title=f"Campaign {result['id']}: {result['name']} ({result['status']})")
    table.add_column("what")
    table.add_column("how many", justify="right")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(result["suppressed_by_reason"].items()))
    rows = [
        ("recipients", result["recipients"]),
        ("waiting", result["queued"]),
        ("sent", result["sent"]),
        ("failed", result["failed"]),
        ("bounced", result["bounced"]),
        ("left out" + (f" ({reasons})" if reasons else ""), result["suppressed"]),
        ("unsubscribed", result["unsubscribed"]),
        ("complained", result["complained"]),
        ("clicked (people)", result["clicked"]),
        ("opened (unreliable)", result["opened"]),
        ("buyers", result["buyers"]),
        ("orders", result["orders"]),
        (f"revenue ({result['currency']})", result["revenue"]),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    out.print(table)
    out.print(
        f"Orders count within {result['attribution_days']} days of a message. "
        + result["opens_note"],
        highlight=False,
    )
    if result["experiment"] is not None:
        print_experiment(result["experiment"])
    if result["holdout"] is not None:
        print_holdout(result["holdout"], result["revenue"], result["currency"])


@campaign_app.command("list")
@shared_options
def list_command(common: Common) -> None:
    """Every campaign, newest first, with its state and messages."""
    from soloist.domain.campaigns import campaign_summary, list_campaigns

    with common.open_database() as database, database.read_session() as session:
        rows = [campaign_summary(session, c) for c in list_campaigns(session)]
    if common.json:
        print_json(rows)
        return
    if not rows:
        out.print("No campaigns yet: `soloist campaign create --help`.")
        return
    table = Table(title="Campaigns")
    for column in ("id", "name", "status", "channel", "segment", "languages", "messages"):
        table.add_column(column)
    for row in rows:
        messages = ", ".join(f"{k} {v}" for k, v in sorted(row["messages"].items()))
        table.add_row(
            str(row["id"]),
            row["name"],
            row["status"],
            row["channel"],
            row["segment"] or "—",
            ", ".join(row["languages"]),
            messages or "—",
        )
    out.print(table)


def _parse_time(value: str, timezone: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"not an ISO time: {value!r} (e.g. 2027-01-05T09:00+01:00)", param_hint="--at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


@campaign_app.command("schedule")
@shared_options
def schedule_command(
    common: Common,
    campaign_id: CampaignArg,
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="When, ISO 8601: 2027-01-05T09:00+01:00 (without an offset: the workspace's "
            "time zone). `soloist worker` sends it then.",
        ),
    ],
) -> None:
    """Schedule the campaign; the worker (`soloist worker` or `soloist serve`) sends it then."""
    from soloist.domain.campaigns import campaign_summary, schedule_campaign

    with common.open_database() as database, database.session() as session:
        moment = _parse_time(at, database.settings.timezone)
        campaign = schedule_campaign(session, campaign_id, moment, cli_actor(), _now())
        result = campaign_summary(session, campaign)
    if common.json:
        print_json(result)
        return
    out.print(
        f"Campaign {campaign_id} is scheduled for {result['scheduled_at']} (UTC); "
        "`soloist worker` sends it then.",
        highlight=False,
    )


def _change_state(common: Common, campaign_id: int, verb: str) -> None:
    from soloist.domain import campaigns

    change = {
        "pause": campaigns.pause_campaign,
        "cancel": campaigns.cancel_campaign,
        "unschedule": campaigns.unschedule_campaign,
    }[verb]
    with common.open_database() as database, database.session() as session:
        result = campaigns.campaign_summary(session, change(session, campaign_id, cli_actor()))
    if common.json:
        print_json(result)
        return
    note = {
        "paused": f" `soloist campaign send {campaign_id}` resumes it.",
        "cancelled": " Messages already sent stay sent.",
        "draft": " It can be edited again.",
    }.get(result["status"], "")
    out.print(f"Campaign {campaign_id} is {result['status']}.{note}", highlight=False)


@campaign_app.command("pause")
@shared_options
def pause_command(common: Common, campaign_id: CampaignArg) -> None:
    """Pause a campaign that is sending (`send` resumes it)."""
    _change_state(common, campaign_id, "pause")


@campaign_app.command("cancel")
@shared_options
def cancel_command(common: Common, campaign_id: CampaignArg) -> None:
    """Cancel a campaign for good (what was sent stays sent)."""
    _change_state(common, campaign_id, "cancel")


@campaign_app.command("unschedule")
@shared_options
def unschedule_command(common: Common, campaign_id: CampaignArg) -> None:
    """Take a scheduled campaign back to a draft."""
    _change_state(common, campaign_id, "unschedule")
