"""``soloist loyalty …``: enrol, balances, adjustments, redemptions, the jobs and the report."""

from __future__ import annotations

import datetime as dt
import json as jsonlib
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

import soloist.domain.loyalty as loyalty_domain  # a lazy face: modules load when used
from soloist.cli.common import Common, cli_actor, out, print_json, shared_options
from soloist.errors import InsufficientPointsError, ValidationError

loyalty_app = typer.Typer(
    help="The loyalty programme: points, tiers, rewards.", no_args_is_help=True
)
CustomerArg = Annotated[int, typer.Argument(help="The customer's id.")]


def _moment(value: str) -> dt.datetime:
    """``--now``: an ISO date or time, UTC unless it names its offset."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO date or time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


NowOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--now",
        parser=_moment,
        help="Run as of this ISO time (default: now, UTC).",
        metavar="<time>",
    ),
]


class IntervalMethod(StrEnum):
    """How ``loyalty report`` puts an interval around the revenue difference."""

    welch = "welch"
    bootstrap = "bootstrap"


def _now(value: dt.datetime | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if value is None else value


@loyalty_app.command("enrol")
@shared_options
def enrol(
    common: Common,
    customer: Annotated[
        list[int] | None, typer.Option("--customer", "-c", help="Only these customers.")
    ] = None,
    holdout_share: Annotated[
        float | None, typer.Option(help="Share of eligible customers kept out, e.g. 0.1.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the random holdout.")] = None,
) -> None:
    """Enrol eligible customers, keeping a random holdout group for measurement."""
    with common.open_database() as database, database.session() as session:
        result = loyalty_domain.enrol_customers(
            session,
            cli_actor(),
            customer_ids=customer or None,
            holdout_share=holdout_share,
            seed=seed,
            currency=database.settings.currency,
        )
    if common.json:
        print_json(asdict(result))
    else:
        out.print(
            f"Enrolled {result.members} members; {result.holdout} kept in the holdout group; "
            f"{result.already} were enrolled already."
        )


@loyalty_app.command("balance")
@shared_options
def balance(
    common: Common,
    customer_id: CustomerArg,
    history: Annotated[int, typer.Option(help="Show this many ledger entries.")] = 10,
) -> None:
    """A customer's balance, tier, referral code and latest ledger entries."""
    with common.open_database() as database, database.read_session() as s:
        summary = loyalty_domain.loyalty_summary(s, customer_id)
        entries = [
            {
                "at": e.created_at,
                "kind": e.kind,
                "points": e.points,
                "reason": e.reason,
                "by": e.rule or f"user:{e.user_id}",
            }
            for e in loyalty_domain.ledger_history(s, customer_id, limit=history)
        ]
    if common.json:
        print_json(asdict(summary) | {"ledger": entries})
        return
    out.print(
        f"Customer {customer_id}: [bold]{summary.balance}[/] points "
        f"(worth {summary.balance_value} {summary.currency}), "
        f"tier {summary.tier or '—'}, group {summary.group or 'not enrolled'}, "
        f"referral code {summary.referral_code or '—'}."
    )
    table = Table("when", "kind", "points", "reason", "by")
    for row in entries:
        cells = (row["at"], row["kind"], row["points"], row["reason"] or "", row["by"])
        table.add_row(*(str(cell)[:16] if i == 0 else str(cell) for i, cell in enumerate(cells)))
    out.print(table)


@loyalty_app.command("adjust")
@shared_options
def adjust(
    common: Common,
    customer_id: CustomerArg,
    points: Annotated[int, typer.Argument(help="Points to add (or remove, negative).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the ledger).")],
) -> None:
    """Add or remove points by hand, with a reason."""
    with common.open_database() as database, database.session() as session:
        adjustment = loyalty_domain.adjust_points(session, customer_id, points, reason, cli_actor())
    if common.json:
        print_json({"customer_id": customer_id, "points": points, "balance": adjustment.balance})
    else:
        out.print(f"Adjusted by {points}; the balance is now {adjustment.balance} points.")


@loyalty_app.command("redeem")
@shared_options
def redeem(
    common: Common,
    customer_id: CustomerArg,
    points: Annotated[int, typer.Argument(help="Points to spend.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: a retry reuses it.")],
) -> None:
    """Spend points; exits 1 when the balance does not cover them (the refusal is kept)."""
    with common.open_database() as database, database.session() as session:
        outcome = loyalty_domain.redeem_points(session, customer_id, points, key, cli_actor())
    if common.json:
        print_json(asdict(outcome))
    if not outcome.redeemed:
        raise InsufficientPointsError(
            f"The balance is {outcome.balance_after} points; it does not cover {points}."
        )
    if not common.json:
        out.print(f"Redeemed {points} points; {outcome.balance_after} left.")


@loyalty_app.command("expire")
@shared_options
def expire(
    common: Common,
    now: NowOption = None,
) -> None:
    """The expiry job: expire what is left of points past their date, oldest first (a thousand
    members per transaction; the worker runs it every night, see loyalty_schedule)."""
    with common.open_database() as database:
        result = loyalty_domain.expire_points_in_turn(database, _now(now), "rule:expiry")
    if common.json:
        print_json(asdict(result))
    else:
        out.print(f"Expired {result.points} points in {result.accounts} accounts.")


@loyalty_app.command("sync")
@shared_options
def sync(
    common: Common,
    now: NowOption = None,
) -> None:
    """Repair tool: settle the points of every order whose ledger does not match it (earn, give
    back refunds), pay today's birthday bonuses. Live orders settle at once; after an import,
    the worker runs this by itself."""
    with common.open_database() as database, database.session() as session:
        moment = _now(now)
        result = loyalty_domain.sync_order_points(session, now=moment)
        birthdays = len(loyalty_domain.award_birthday_bonuses(session, moment.date()))
    if common.json:
        print_json(asdict(result) | {"birthday_bonuses": birthdays})
    else:
        out.print(
            f"Earned on {result.earned} orders, reversed {result.reversed}, "
            f"{birthdays} birthday bonuses."
        )


@loyalty_app.command("tiers")
@shared_options
def tiers(
    common: Common,
    review: Annotated[
        bool, typer.Option("--review", help="Run the tier review (downgrades at review dates).")
    ] = False,
    now: NowOption = None,
) -> None:
    """The tiers and their members; with --review, move members between tiers (two thousand
    members per transaction; the worker runs the review every night, see loyalty_schedule)."""
    with common.open_database() as database:
        changes = loyalty_domain.review_tiers_in_turn(database, _now(now)) if review else []
        with database.read_session() as session:
            counts = loyalty_domain.member_counts_by_tier(session)
            rows: list[dict[str, Any]] = [
                {
                    "name": t.name,
                    "rank": t.rank,
                    "qualify_by": t.qualify_by,
                    "threshold": t.threshold,
                    "multiplier_percent": t.multiplier_percent,
                    "members": counts.get(t.name, 0),
                }
                for t in loyalty_domain.list_tiers(session)
            ]
    if common.json:
        print_json({"tiers": rows, "changes": [asdict(c) for c in changes]})
        return
    table = Table("tier", "qualifies by", "threshold", "multiplier", "members")
    for row in rows:
        table.add_row(
            row["name"],
            row["qualify_by"],
            str(row["threshold"]),
            f"{row['multiplier_percent']}%",
            str(row["members"]),
        )
    out.print(table)
    if review:
        out.print(f"{len(changes)} members changed tier.")


@loyalty_app.command("report")
@shared_options
def report(
    common: Common,
    method: Annotated[
        IntervalMethod, typer.Option(help="How the revenue difference's interval is computed.")
    ] = IntervalMethod.welch,
    now: NowOption = None,
) -> None:
    """Participation, redemption, liability and the measured member-vs-holdout effect."""
    with common.open_database() as database, database.read_session() as s:
        from soloist.domain.loyalty import loyalty_report  # SciPy: only here

        result = loyalty_report(s, _now(now), method=method.value)
    if common.json:
        print_json(asdict(result))
        return
    k = result.kpis
    out.print(
        f"Members {k.members}, holdout {k.holdout}, participation "
        f"{_pct(k.participation_rate)}; redemption rate {_pct(k.redemption_rate)}; "
        f"liability {k.liability} {k.currency} ({k.outstanding_points} points)."
    )
    for label, effect in (
        ("Repeat-purchase rate", result.effect.repeat_purchase_rate),
        ("Revenue per customer", result.effect.revenue_per_customer),
    ):
        if effect is None:
            out.print(f"{label}: not enough members and holdout customers to compare.")
            continue
        out.print(
            f"{label}: members {effect.treated_mean:.3f} "
            f"vs holdout {effect.control_mean:.3f}, "
            f"difference {effect.difference:+.3f} "
            f"({effect.confidence:.0%} CI {effect.ci_low:+.3f} … {effect.ci_high:+.3f})."
        )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@loyalty_app.command("settings")
@shared_options
def settings_command(
    common: Common,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE (VALUE as JSON, e.g. expiry_months=6)."),
    ] = None,
) -> None:
    """Show the programme's rules, or change some with --set."""
    with common.open_database() as database, database.session() as session:
        if set_:
            changes: dict[str, Any] = {}
            for item in set_:
                key, sep, raw = item.partition("=")
                if not sep:
                    raise ValidationError(f"--set needs KEY=VALUE, got {item!r}.")
                try:
                    changes[key.strip()] = jsonlib.loads(raw)
                except ValueError:
                    changes[key.strip()] = raw
            rules = loyalty_domain.update_programme_settings(session, changes, cli_actor())
        else:
            rules = loyalty_domain.get_programme_settings(session)
        data = rules.model_dump(mode="json")
    if common.json:
        print_json(data)
    else:
        for key, value in data.items():
            out.print(f"{key} = {value}")
