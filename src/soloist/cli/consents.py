"""``soloist privacy consents EMAIL_OR_ID`` (a customer's consent history) and
``soloist privacy wording add|list`` (the published consent wordings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from soloist.cli.common import Common, cli_actor, out, print_json, shared_options
from soloist.cli.deals import customer_id_of
from soloist.errors import ValidationError

wording_app = typer.Typer(
    help="The consent wordings customers agree to, one version at a time.",
    no_args_is_help=True,
)


def consents(
    common: Common,
    person: Annotated[str, typer.Argument(metavar="EMAIL_OR_ID", help="The customer.")],
) -> None:
    """A customer's consent history, newest first: what, when, how and which wording."""
    from soloist.domain.customers import consent_history

    with common.open_database() as database, database.read_session() as session:
        events = consent_history(session, customer_id_of(session, person))
    rows: list[dict[str, Any]] = [
        {
            "channel": e.channel,
            "granted": e.granted,
            "recorded_at": e.recorded_at.isoformat(),
            "source": e.source,
            "evidence": e.evidence,
            "wording_version": e.wording_version,
            "wording": e.wording,
        }
        for e in events
    ]
    if common.json:
        print_json(rows)
        return
    if not rows:
        out.print("No consent recorded for this customer.")
    for row in rows:
        given = "given    " if row["granted"] else "withdrawn"
        version = f"  wording {row['wording_version']}" if row["wording_version"] else ""
        out.print(
            f"{row['recorded_at'][:16]}  {row['channel']:<7} {given}  {row['source']}{version}",
            markup=False,
        )


def _wording_dict(wording: Any) -> dict[str, Any]:
    return {
        "id": wording.id,
        "channel": wording.channel,
        "version": wording.version,
        "language": wording.language,
        "text": wording.text,
        "published_at": wording.published_at.isoformat(),
    }


@wording_app.command("add")
@shared_options
def wording_add(
    common: Common,
    channel: Annotated[str, typer.Option("--channel", help="email, sms, phone, post, webhook.")],
    version: Annotated[str, typer.Option("--version", help="A new version: v2, 2026-12 …")],
    text: Annotated[str | None, typer.Option("--text", help="The words shown.")] = None,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", help="Read the words from this UTF-8 file.")
    ] = None,
    language: Annotated[str, typer.Option("--language", help="en, zh-CN …")] = "en",
) -> None:
    """Publish a version of a channel's consent wording; consents recorded from now on without
    a version are given under it."""
    from soloist.domain.customers import publish_wording

    if (text is None) == (text_file is None):
        raise ValidationError("Give the wording as --text or as --text-file, not both.")
    words = text if text is not None else Path(str(text_file)).read_text(encoding="utf-8")
    with common.open_database() as database, database.session() as session:
        wording = _wording_dict(
            publish_wording(session, channel, version, words, cli_actor(), language=language)
        )
    if common.json:
        print_json(wording)
        return
    out.print(f"Published the {channel} wording {version} ({language}).", markup=False)


@wording_app.command("list")
@shared_options
def wording_list(
    common: Common,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
) -> None:
    """The published wordings, newest first."""
    from soloist.domain.customers import list_wordings

    with common.open_database() as database, database.read_session() as session:
        wordings = [_wording_dict(w) for w in list_wordings(session, channel)]
    if common.json:
        print_json(wordings)
        return
    if not wordings:
        out.print("No wording published yet: soloist privacy wording add --channel email …")
    for w in wordings:
        out.print(
            f"{w['published_at'][:10]}  {w['channel']:<7} {w['version']:<12} {w['language']:<6} "
            f"{w['text'][:60]}",
            markup=False,
        )
