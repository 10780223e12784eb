"""The loyalty programme's daily jobs as the worker and the command line run them: today's
birthday bonuses, the expiry job and the tier review, each batch of members committed on its
own.

In one transaction, the expiry job at 80,000 members held SQLite's write lock for 17 s and the
tier review for 10 s (BENCHMARKS.md); at a million members that is minutes, and a live order
waiting on the lock gives up after 30 s. Here the members are found in a read transaction,
then each batch (``programme.EXPIRY_BATCH`` accounts expired, ``tiers.REVIEW_BATCH``
reviewed) is read, decided and written in a transaction of its own, with a pause between two
on SQLite (:meth:`~soloist.storage.database.Database.let_writers_in`): a writer waits for about
one batch. A batch is all or nothing, and a run stopped half-way is finished by the next one:
each lot expires once, each birthday bonus is paid once a year, and a tier review of a member
already reviewed changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.loyalty import programme, tiers
from soloist.domain.loyalty.ledger import MEMBER
from soloist.domain.loyalty.programme import (
    ExpiryResult,
    accounts_with_points_due,
    award_birthday_bonuses,
    expire_batch,
    members_born_on,
)
from soloist.domain.loyalty.rules import get_programme_settings
from soloist.domain.loyalty.tiers import (
    TIER_ACTOR,
    TierChange,
    list_tiers,
    review_with_metrics,
)
from soloist.storage.database import Database
from soloist.storage.models import LoyaltyAccount

T = TypeVar("T")

#: Birthday bonuses paid in one transaction (each is a ledger entry and an audit entry).
BONUS_BATCH = 500


def _in_turn(
    database: Database, ids: list[int], size: int, work: Callable[[Session, list[int]], T]
) -> list[T]:
    """``work`` on each ``size`` of ``ids`` in a transaction of its own, what each returned;
    SQLite's waiting writers let in between two."""
    done: list[T] = []
    for start in range(0, len(ids), size):
        if start:
            database.let_writers_in()
        with database.session() as session:
            done.append(work(session, ids[start : start + size]))
    return done


@dataclass(frozen=True)
class DailyLoyaltyReport:
    """What one run of the daily jobs did."""

    day: dt.date
    birthday_bonuses: int
    expired: ExpiryResult
    tier_changes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"day": self.day.isoformat()}


def expire_points_in_turn(
    database: Database, now: dt.datetime, actor: str = "rule:expiry"
) -> ExpiryResult:
    """:func:`~soloist.domain.loyalty.programme.expire_points`, each batch of members in a
    transaction of its own."""
    with database.read_session() as session:
        due = accounts_with_points_due(session, now)
    done = _in_turn(
        database, due, programme.EXPIRY_BATCH, lambda s, part: expire_batch(s, part, now, actor)
    )
    return sum(done, ExpiryResult(accounts=0, entries=0, points=0))


def review_tiers_in_turn(
    database: Database, now: dt.datetime, *, actor: str = TIER_ACTOR
) -> list[TierChange]:
    """:func:`~soloist.domain.loyalty.tiers.review_tiers`, each batch of members in a
    transaction of its own, their spend and points in the window read in it."""
    with database.read_session() as session:
        if not list_tiers(session):
            return []
        members = list(
            session.scalars(
                select(LoyaltyAccount.customer_id)
                .where(LoyaltyAccount.group == MEMBER)
                .order_by(LoyaltyAccount.customer_id)
            )
        )

    def review(session: Session, part: list[int]) -> list[TierChange]:
        rules = get_programme_settings(session)
        return review_with_metrics(session, part, now, settings=rules, actor=actor)

    return [change for done in _in_turn(database, members, tiers.REVIEW_BATCH, review)
            for change in done]  # fmt: skip


def award_birthday_bonuses_in_turn(
    database: Database, today: dt.date, actor: str = "rule:birthday"
) -> int:
    """:func:`~soloist.domain.loyalty.programme.award_birthday_bonuses`: the birthdays read
    (and decrypted) without the write lock, the bonuses paid a batch at a time; how many members
    have today's bonus (a second run the same day pays nothing again)."""
    with database.read_session() as session:
        born = members_born_on(session, today)
    paid = _in_turn(
        database,
        born,
        BONUS_BATCH,
        lambda s, part: len(award_birthday_bonuses(s, today, actor, customer_ids=part)),
    )
    return sum(paid)


def run_daily_loyalty(database: Database, now: dt.datetime) -> DailyLoyaltyReport:
    """The daily jobs in order: birthday bonuses for today in the workspace's time zone, then
    the expiry job, then the tier review (a bonus paid first counts towards a points tier).
    The ledger and the audit log name each job's rule as the actor, as when run by hand."""
    today = now.astimezone(ZoneInfo(database.settings.timezone)).date()
    bonuses = award_birthday_bonuses_in_turn(database, today)
    expired = expire_points_in_turn(database, now)
    changes = review_tiers_in_turn(database, now)
    return DailyLoyaltyReport(today, bonuses, expired, len(changes))
