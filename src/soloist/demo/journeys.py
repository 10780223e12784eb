"""The demo's running journeys, and the clock that runs them with the A/B test
(:func:`build_automation_demo`).

Three journeys, each in English and Chinese with a 20 % holdout, started 38 days before the
demo ends (after the last of the past campaigns, so that no campaign they meet lies in their
future): a **welcome** when a customer is first seen (with two days of backfill), a **review
request** 14 days after a paid order (backfilled 14 days, so the orders of the fortnight before
the start get theirs), and a **birthday greeting** at 09:00 on the day, for the 60 % of
customers who gave a birthday. A **win-back** for valuable customers at risk (churn risk at
least 0.7, a 12-month value of at least 150) is left as a draft: it needs the churn and value
scores, which ``soloist analyze`` computes after the demo is built (``make demo`` runs it), so
start it then.

Everything goes through the journeys' own code: :func:`soloist.domain.journeys.create_journey`
and ``start_journey``, then the worker's two steps, ``enter_occasions`` and ``act_on_due``, with
the default settings' frequency cap (three messages a week) and quiet hours (21–8, in UTC: the
demo's customers have no time zone of their own). The worker runs every minute; the demo replays
it three times a day (08:00, 14:00 and 20:00 UTC), so a message goes at most six hours after
its time (or after the night's quiet hours). Each message the journeys queue is delivered
then (:class:`Deliveries`: 1.5 % bounce, 0.4 % unsubscribe, machine opens for 40 %) and its
recipient opens and clicks at these true rates: welcome 45 % / 12 %, review request 35 % / 8 %,
birthday 45 % / 10 %. The A/B test's send and looks happen on the same clock, and what
recipients do is written as it happens.

The purchases the journeys' results count are the demo's own, drawn independently of any
message: the true effect of each journey on buying is zero, and its measured effect (receivers
against the holdout over 30 days, :func:`soloist.domain.journeys.journey_results`) should be
indistinguishable from noise.

One book-keeping step: the replay's database already holds the orders and customers of the
days ahead, which the worker would have found only as they came, so after the replay an entry
is dated no earlier than its occasion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.demo.campaigns import ACTOR, BODY_EN, BODY_ZH, DOMAIN, LIST_NAME, SHOP_URL
from soloist.demo.experiments import Deliveries, SubjectLineTest, add_link
from soloist.domain._progress import Progress, no_progress
from soloist.domain.campaigns import SendPolicy
from soloist.domain.journeys import (
    JourneyRunReport,
    act_on_due,
    create_journey,
    enter_occasions,
    set_journey_content,
    start_journey,
)
from soloist.storage.models import JourneyEntry, Message, MessageEvent, Segment
from soloist.storage.planner import catch_up_statistics
from soloist.storage.types import as_utc

JOURNEY_DAYS = 38
STEP_HOURS = (8, 14, 20)
#: the tables the simulation grows day by day
GROWN_TABLES = tuple(str(m.__tablename__) for m in (JourneyEntry, Message, MessageEvent))
HOLDOUT_SHARE = 0.2
ACT_BATCH = 500  # the runner's batch

# name, trigger, trigger_days, backfill days, (true open, click rate), en, zh, path
JOURNEYS = (
    (
        "Welcome",
        "welcome",
        None,
        2,
        (0.45, 0.12),
        ("Welcome to Ada's Coffee, {{ customer.first_name }}",
         "Thank you for your first order. Here is how to brew it at its best.",
         "Read the brewing guide"),
        ("欢迎来到 Ada 咖啡", "感谢您的首次订购。这里是冲煮的小窍门。", "阅读冲煮指南"),
        "/brewing-guide",
    ),
    (
        "Review request",
        "order",
        14,
        14,
        (0.35, 0.08),
        ("How is your coffee, {{ customer.first_name }}?",
         "Your order arrived a little while ago. A short review helps other coffee lovers.",
         "Write a review"),
        ("咖啡还合您的口味吗？", "您的订单已到达一段时间了。写一条简短的评价，帮助其他咖啡爱好者。",
         "写评价"),
        "/review",
    ),
    (
        "Birthday greeting",
        "birthday",
        0,
        0,
        (0.45, 0.10),
        ("Happy birthday, {{ customer.first_name }}!",
         "A happy birthday from all of us: a small treat waits for you in the shop.",
         "Claim your treat"),
        ("{{ customer.name }}，生日快乐！", "祝您生日快乐：店里为您准备了一份小礼物。", "领取礼物"),
        "/birthday",
    ),
)  # fmt: skip

WIN_BACK = (
    "Win back valuable customers",
    ("We miss you, {{ customer.first_name }}",
     "It has been a while. Your favourite roast is waiting, and this week it ships free.",
     "Come back for a bag"),
    ("{{ customer.name }}，好久不见", "好久不见。您喜爱的烘焙正等着您，本周免运费。", "回来看看"),
    "/welcome-back",
)  # fmt: skip


@dataclass(frozen=True)
class AutomationSummary:
    experiment_decision: str | None
    experiment_winner: str | None
    journeys: int
    journey_entries: int
    journey_messages: int
    journey_holdout: int


def _default_policy() -> SendPolicy:
    """The frequency cap and quiet hours of a workspace with the default settings."""
    return SendPolicy.from_settings(Settings.model_construct())


class DemoJourneys:
    """The journeys, created and started on the demo's clock, and run by :meth:`at`."""

    def __init__(
        self,
        session: Session,
        deliveries: Deliveries,
        *,
        end: dt.datetime,
        seed: int,
        currency: str,
        policy: SendPolicy | None = None,
    ) -> None:
        self.session, self.deliveries, self.currency = session, deliveries, currency
        self.end = end
        self.policy = policy or _default_policy()
        self.report = JourneyRunReport()
        self.begin = end - dt.timedelta(days=JOURNEY_DAYS)
        seeds = np.random.default_rng([seed, JOURNEY_DAYS])
        self.running: list[tuple[int, int, tuple[float, float], int]] = []
        self.found_ahead: list[int] = []  # journeys whose occasions the replay sees early
        for name, trigger, days, backfill, rates, en, zh, path in JOURNEYS:
            journey_id, campaign_id, link = self._create(
                name, trigger, en, zh, path, trigger_days=days
            )
            journey = start_journey(session, journey_id, ACTOR, self.begin, backfill_days=backfill)
            journey.assignment_seed = int(seeds.integers(2**31))
            self.running.append((journey_id, campaign_id, rates, link))
            if trigger in ("welcome", "order"):
                self.found_ahead.append(journey_id)
        name, en, zh, path = WIN_BACK
        self._create(name, "churn_risk", en, zh, path, threshold=0.7, minimum_value=150.0)

    def _create(
        self,
        name: str,
        trigger: str,
        en: tuple[str, str, str],
        zh: tuple[str, str, str],
        path: str,
        *,
        trigger_days: int | None = None,
        threshold: float | None = None,
        minimum_value: float | None = None,
    ) -> tuple[int, int, int]:
        """A journey with its text in both languages: (journey, its campaign, its link)."""
        url = SHOP_URL + path
        journey = create_journey(
            self.session,
            name=name,
            trigger=trigger,
            actor=ACTOR,
            subject=en[0],
            body=BODY_EN.format(intro=en[1], url=url, cta=en[2]),
            holdout_share=HOLDOUT_SHARE,
            trigger_days=trigger_days,
            threshold=threshold,
            minimum_value=minimum_value,
        )
        set_journey_content(
            self.session, journey.id, "zh-CN", zh[0],
            BODY_ZH.format(intro=zh[1], url=url, cta=zh[2]), ACTOR,
        )  # fmt: skip
        assert journey.campaign_id is not None
        campaign_id = journey.campaign_id
        return journey.id, campaign_id, add_link(self.session, campaign_id, url)

    def moments(self) -> list[dt.datetime]:
        day = self.begin.replace(hour=0, minute=0, second=0, microsecond=0)
        times: list[dt.datetime] = []
        while day < self.end:
            times.extend(day + dt.timedelta(hours=h) for h in STEP_HOURS)
            day += dt.timedelta(days=1)
        return [t for t in times if self.begin <= t < self.end]

    def at(self, now: dt.datetime) -> None:
        """The worker's pass at ``now``: enter new occasions (at the day's first pass), act on
        due entries, and deliver what they queued."""
        if not self.begin <= now < self.end:
            return
        if now.hour == STEP_HOURS[0]:
            # One transaction holds the whole simulation; a day's new rows need statistics
            # as autovacuum would have taken them after each commit.
            catch_up_statistics(self.session, GROWN_TABLES)
            for journey_id, _, _, _ in self.running:
                enter_occasions(self.session, journey_id, now, self.currency, self.report)
        due = dict(
            self.session.execute(
                select(JourneyEntry.journey_id, func.min(JourneyEntry.due_at))
                .where(JourneyEntry.state == "waiting")
                .group_by(JourneyEntry.journey_id)
            ).all()
        )
        for journey_id, campaign_id, (opens, clicks), link in self.running:
            first = due.get(journey_id)
            if first is None or as_utc(first) > now:
                continue
            # As the runner does: another batch only when this one was full.
            while (
                act_on_due(
                    self.session, journey_id, now, self.policy, DOMAIN, self.report, self.currency
                )
                >= ACT_BATCH
            ):
                pass
            self.deliveries.send(campaign_id, now, {"A": (opens, clicks)}, link)

    def tidy(self) -> None:
        """Date each entry no earlier than its occasion (see the module docstring)."""
        if self.found_ahead:
            self.session.execute(
                update(JourneyEntry)
                .where(
                    JourneyEntry.journey_id.in_(self.found_ahead),
                    JourneyEntry.created_at < JourneyEntry.occurred_at,
                )
                .values(created_at=JourneyEntry.occurred_at)
                .execution_options(synchronize_session=False)
            )

    def counts(self) -> dict[str, int]:
        ids = [journey_id for journey_id, _, _, _ in self.running]
        states = dict(
            self.session.execute(
                select(JourneyEntry.state, func.count())
                .where(JourneyEntry.journey_id.in_(ids))
                .group_by(JourneyEntry.state)
            ).all()
        )
        return {str(k): int(v) for k, v in states.items()}


def build_automation_demo(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    seed: int,
    currency: str,
    progress: Progress | None = None,
) -> AutomationSummary:
    """The A/B test and the journeys, run on one clock from the journeys' start to the end."""
    report = progress or no_progress
    deliveries = Deliveries(session, seed)
    test = None
    if session.scalar(select(Segment.id).where(Segment.name == LIST_NAME)) is not None:
        test = SubjectLineTest(session, deliveries, start=start, seed=seed, currency=currency)
    journeys = DemoJourneys(session, deliveries, end=end, seed=seed, currency=currency)
    planned = {*journeys.moments(), *(test.moments() if test else [])}
    moments = sorted(t for t in planned if t < end)
    for done, now in enumerate(moments, start=1):
        deliveries.happen(now)
        if test is not None:
            test.at(now)
        journeys.at(now)
        report("journeys", done, len(moments))
    deliveries.happen(end)  # what is still to come after the demo's end never happened
    journeys.tidy()
    session.flush()
    decision, winner = test.decision() if test is not None else (None, None)
    counts = journeys.counts()
    return AutomationSummary(
        experiment_decision=decision,
        experiment_winner=winner,
        journeys=len(journeys.running),
        journey_entries=sum(counts.values()),
        journey_messages=counts.get("sent", 0),
        journey_holdout=counts.get("holdout", 0),
    )
