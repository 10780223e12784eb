"""``soloist loyalty …``: enrol, balances, adjustments, redemptions, the jobs and the report."""

from __future__ import annotations

import datetime as dt
import json as jsonlib
from typing import Annotated, Any

import typer
from rich.table import Table

from soloist.cli.common import (
    DbOption,
    JsonOption,
    WorkspaceOption,
    cli_actor,
    cli_errors,
    open_database,
    out,
    print_json,
)
from soloist.domain.loyalty import (
    adjust_points,
    award_birthday_bonuses,
    enrol_customers,
    expire_points,
    get_programme_settings,
    ledger_history,
    list_tiers,
    loyalty_summary,
    redeem_points,
    review_tiers,
    sync_order_points,
    update_programme_settings,
)
from soloist.errors import InsufficientPointsError, ValidationError
from soloist.storage.types import utcnow

loyalty_app = typer.Typer(
    help="The loyalty programme: points, tiers, rewards.", no_args_is_help=True
)
CustomerArg = Annotated[int, typer.Argument(help="The customer's id.")]
NowOption = Annotated[
    str | None, typer.Option("--now", help="Run as of this ISO time (default: now, UTC).")
]


def _now(value: str | None) -> dt.datetime:
    if value is None:
        return utcnow()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"--now: not an ISO date or time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return jsonlib.loads(jsonlib.dumps(data, default=str))


@loyalty_app.command("enrol")
def enrol(
    customer: Annotated[
        list[int] | None, typer.Option("--customer", "-c", help="Only these customers.")
    ] = None,
    holdout_share: Annotated[
        float | None, typer.Option(help="Share of eligible customers kept out, e.g. 0.1.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the random holdout.")] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Enrol eligible customers, keeping a random holdout group for measurement."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        result = enrol_customers(
            session,
            cli_actor(),
            customer_ids=customer or None,
            holdout_share=holdout_share,
            seed=seed,
            currency=database.settings.currency,
        )
    data = {"members": result.members, "holdout": result.holdout, "already": result.already}
    if json:
        print_json(data)
    else:
        out.print(
            f"Enrolled {result.members} members; {result.holdout} kept in the holdout group; "
            f"{result.already} were enrolled already."
        )


@loyalty_app.command("balance")
def balance(
    customer_id: CustomerArg,
    history: Annotated[int, typer.Option(help="Show this many ledger entries.")] = 10,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """A customer's balance, tier, referral code and latest ledger entries."""
    with cli_errors(), open_database(workspace, db) as database, database.read_session() as s:
        summary = loyalty_summary(s, customer_id)
        entries = [
            {
                "at": e.created_at,
                "kind": e.kind,
                "points": e.points,
                "reason": e.reason,
                "by": e.rule or f"user:{e.user_id}",
            }
            for e in ledger_history(s, customer_id, limit=history)
        ]
    if json:
        print_json(_plain(summary | {"ledger": entries}))
        return
    out.print(
        f"Customer {customer_id}: [bold]{summary['balance']}[/] points "
        f"(worth {summary['balance_value']} {summary['currency']}), "
        f"tier {summary['tier'] or '—'}, group {summary['group'] or 'not enrolled'}, "
        f"referral code {summary['referral_code'] or '—'}."
    )
    table = Table("when", "kind", "points", "reason", "by")
    for row in entries:
        cells = (row["at"], row["kind"], row["points"], row["reason"] or "", row["by"])
        table.add_row(*(str(cell)[:16] if i == 0 else str(cell) for i, cell in enumerate(cells)))
    out.print(table)


@loyalty_app.command("adjust")
def adjust(
    customer_id: CustomerArg,
    points: Annotated[int, typer.Argument(help="Points to add (or remove, negative).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the ledger).")],
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Add or remove points by hand, with a reason."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        adjust_points(session, customer_id, points, reason, cli_actor())
        summary = loyalty_summary(session, customer_id)
    if json:
        print_json({"customer_id": customer_id, "points": points, "balance": summary["balance"]})
    else:
        out.print(f"Adjusted by {points}; the balance is now {summary['balance']} points.")


@loyalty_app.command("redeem")
def redeem(
    customer_id: CustomerArg,
    points: Annotated[int, typer.Argument(help="Points to spend.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: a retry reuses it.")],
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Spend points; exits 1 when the balance does not cover them (the refusal is kept)."""
    with cli_errors():
        with open_database(workspace, db) as database, database.session() as session:
            outcome = redeem_points(session, customer_id, points, key, cli_actor())
        if json:
            print_json(_plain(outcome.to_dict() | {"replayed": outcome.replayed}))
        if not outcome.redeemed:
            raise InsufficientPointsError(
                f"The balance is {outcome.balance_after} points; it does not cover {points}."
            )
    if not json:
        out.print(f"Redeemed {points} points; {outcome.balance_after} left.")


@loyalty_app.command("expire")
def expire(
    now: NowOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """The expiry job: expire what is left of points past their date, oldest first."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        result = expire_points(session, _now(now), "rule:expiry")
    data = {"accounts": result.accounts, "entries": result.entries, "points": result.points}
    if json:
        print_json(data)
    else:
        out.print(f"Expired {result.points} points in {result.accounts} accounts.")


@loyalty_app.command("sync")
def sync(
    now: NowOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Earn points for new orders, reverse refunded ones, pay today's birthday bonuses."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        moment = _now(now)
        result = sync_order_points(session, now=moment)
        result["birthday_bonuses"] = len(award_birthday_bonuses(session, moment.date()))
    if json:
        print_json(result)
    else:
        out.print(
            f"Earned on {result['earned']} orders, reversed {result['reversed']}, "
            f"{result['birthday_bonuses']} birthday bonuses."
        )


@loyalty_app.command("tiers")
def tiers(
    review: Annotated[
        bool, typer.Option("--review", help="Run the tier review (downgrades at review dates).")
    ] = False,
    now: NowOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """The tiers and their members; with --review, move members between tiers."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
        changes = review_tiers(session, _now(now)) if review else []
        from soloist.domain.loyalty import loyalty_report  # SciPy: only here

        counts = loyalty_report(session, _now(now))["kpis"]["tiers"]
        rows = [
            {
                "name": t.name,
                "rank": t.rank,
                "qualify_by": t.qualify_by,
                "threshold": t.threshold,
                "multiplier_percent": t.multiplier_percent,
                "members": counts.get(t.name, 0),
            }
            for t in list_tiers(session)
        ]
    if json:
        print_json({"tiers": rows, "changes": [c.__dict__ for c in changes]})
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
def report(
    method: Annotated[str, typer.Option(help="Revenue interval: welch or bootstrap.")] = "welch",
    now: NowOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Participation, redemption, liability and the measured member-vs-holdout effect."""
    if method not in ("welch", "bootstrap"):
        with cli_errors():
            raise ValidationError("--method must be welch or bootstrap.")
    with cli_errors(), open_database(workspace, db) as database, database.read_session() as s:
        from soloist.domain.loyalty import loyalty_report  # SciPy: only here

        data = _plain(loyalty_report(s, _now(now), method=method))
    if json:
        print_json(data)
        return
    k = data["kpis"]
    out.print(
        f"Members {k['members']}, holdout {k['holdout']}, participation "
        f"{_pct(k['participation_rate'])}; redemption rate {_pct(k['redemption_rate'])}; "
        f"liability {k['liability']} {k['currency']} ({k['outstanding_points']} points)."
    )
    for label, key in (
        ("Repeat-purchase rate", "repeat_purchase_rate"),
        ("Revenue per customer", "revenue_per_customer"),
    ):
        effect = data["effect"][key]
        if effect is None:
            out.print(f"{label}: not enough members and holdout customers to compare.")
            continue
        out.print(
            f"{label}: members {effect['treated_mean']:.3f} "
            f"vs holdout {effect['control_mean']:.3f}, "
            f"difference {effect['difference']:+.3f} "
            f"({effect['confidence']:.0%} CI {effect['ci_low']:+.3f} … {effect['ci_high']:+.3f})."
        )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@loyalty_app.command("settings")
def settings_command(
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE (VALUE as JSON, e.g. expiry_months=6)."),
    ] = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show the programme's rules, or change some with --set."""
    with cli_errors(), open_database(workspace, db) as database, database.session() as session:
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
            rules = update_programme_settings(session, changes, cli_actor())
        else:
            rules = get_programme_settings(session)
        data = rules.model_dump(mode="json")
    if json:
        print_json(data)
    else:
        for key, value in data.items():
            out.print(f"{key} = {value}")
