"""The demo's A/B test: *Autumn blend: subject line test*, sent three weeks before the demo ends
to the newsletter list, with a 10 % holdout; and :class:`Deliveries`, how the demo "sends" a
queued message (it has no mail server) and what its recipient then does, shared with the
journeys (:mod:`soloist.demo.journeys`).

The generating process, stated here because the results page measures it:

* **Who.** The list as it stood on the send day: customers whose latest e-mail consent before
  then was a grant and whose address had not hard-bounced; one who had already had three
  campaign or journey messages in the 7 days before is left out (the frequency cap, as the
  real freeze does it). Each is put in the holdout, variant A or variant B by the domain's own
  seeded draw (:func:`soloist.domain.campaigns.assign_arm`, the campaign's seed from the demo
  seed), the test taking the whole list (``test_share`` 1: a list of about 1,300 is too small
  to hold a remainder back for the winner; with ``test_share`` below 1 the remainder waits
  and the domain releases it to the winner).
* **What they do.** Variant B's subject is personal and makes more people open. True rates:
  human opens 30 % (A) and 40 % (B); human clicks 5 % (A) and 10 % (B) of recipients, clicks
  only by people who opened. For every message alike: 1.5 % hard bounces, 0.4 % unsubscribes,
  a machine open a second after delivery for 40 % (a mail proxy). A person opens after a
  log-normal delay (median 5 hours, σ = 1.3 on the log scale: about one in nine opens comes
  after a day, one in fifty after three), clicks a minute later. Each message's draws come from
  its own stream, seeded by the demo seed and the message's key, so the same recipient does
  the same with the same message whatever else the demo drew (another end date, another
  journey's bounce).
* **The rule.** Planned as an owner would: click rate, baseline 5 %, a lift worth finding of
  5 points (which the sample-size guide says this list can find with about 90 % power), three
  looks over 72 hours, α = 0.05. The events are written as they happen, and the domain's own
  :func:`soloist.domain.campaigns.take_look` is called at each look, so it sees what it would
  have seen then and decides as it would have. What it decides is what the demo shows.
* **The holdout.** The demo's purchases were drawn before and independently of any campaign,
  so the campaign's true effect on orders is zero: its measured incremental revenue
  (:func:`soloist.domain.campaigns.holdout_effect`) should be indistinguishable from noise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from soloist.demo.campaigns import (
    ACTOR,
    BODY_EN,
    BODY_ZH,
    DOMAIN,
    LIST_NAME,
    SHOP_URL,
    event_row,
)
from soloist.domain.campaigns import (
    add_suppressions,
    assign_arm,
    create_campaign,
    get_experiment,
    set_content,
    set_experiment,
    take_look,
    update_campaign,
)
from soloist.domain.customers import record_consent
from soloist.storage.bulk import chunks
from soloist.storage.models import (
    CampaignLink,
    ConsentRecord,
    Customer,
    Message,
    MessageEvent,
    Suppression,
)

NAME = "Autumn blend: subject line test"
SEND_DAY = 709  # of the two-year history: three weeks before the end, at 09:00
PATH = "/autumn-blend"
HOLDOUT_SHARE = 0.1
TEST_SHARE = 1.0
BASELINE, MINIMUM_LIFT, LOOKS, DECISION_HOURS = 0.05, 0.05, 3, 72
# variant → (true human open rate, true human click rate of recipients)
TRUE_RATES = {"A": (0.30, 0.05), "B": (0.40, 0.10)}
BOUNCE, UNSUBSCRIBE, MACHINE_OPEN = 0.015, 0.004, 0.4
OPEN_MEDIAN_HOURS, OPEN_SIGMA = 5.0, 1.3
FREQUENCY_CAP, CAP_DAYS = 3, 7

SUBJECTS = {
    ("A", "en"): "Our autumn blend is here",
    ("B", "en"): "{{ customer.first_name }}, your autumn blend is roasted",
    ("A", "zh-CN"): "秋季拼配上市",
    ("B", "zh-CN"): "{{ customer.name }}，您的秋季拼配已烘焙好",
}
INTRO = {
    "en": "Our autumn blend is out of the roaster: toffee, baked apple and a soft finish.",
    "zh-CN": "秋季拼配新鲜出炉：太妃糖、烤苹果的香气，余韵柔和。",
}
CALL = {"en": "Try the autumn blend", "zh-CN": "品尝秋季拼配"}

_MARK_SENT = (
    update(Message)
    .where(Message.id == bindparam("row"))
    .values(
        status=bindparam("status"),
        sent_at=bindparam("sent"),
        error=bindparam("problem"),
        attempts=1,
        next_attempt_at=None,
    )
)
_OPENED = update(Message).where(Message.id == bindparam("row")).values(opened_at=bindparam("at"))
_CLICKED = update(Message).where(Message.id == bindparam("row")).values(clicked_at=bindparam("at"))
_UNSUBSCRIBED = (
    update(Message).where(Message.id == bindparam("row")).values(unsubscribed_at=bindparam("at"))
)


@dataclass(frozen=True)
class _Pending:
    at: dt.datetime
    kind: str  # open, click, machine_open, unsubscribe
    message_id: int
    customer_id: int
    campaign_id: int
    sent: dt.datetime
    link_id: int | None


def add_link(session: Session, campaign_id: int, url: str) -> int:
    """The tracked link a campaign's clicks point at."""
    link = CampaignLink(
        campaign_id=campaign_id, url_hash=hashlib.sha256(url.encode()).hexdigest(), url=url
    )
    session.add(link)
    session.flush()
    return link.id


class Deliveries:
    """Sends queued messages as the demo does (no mail server: a message is sent, or bounces,
    the moment it is handed over) and keeps what their recipients will do until it happens:
    :meth:`happen` writes the opens, clicks and unsubscribes whose time has come, so that a look
    at the results, or the next journey step, sees only the past."""

    def __init__(self, session: Session, seed: int) -> None:
        self.session, self.seed = session, seed
        self.pending: list[_Pending] = []

    def _draws(self, key: str) -> tuple[np.ndarray, float, float]:
        """One message's own draws, fixed by the seed and the message's key: whatever else the
        demo draws, the same recipient does the same thing with the same message."""
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        rng = np.random.default_rng([self.seed, digest])
        uniforms = rng.random(5)  # bounce, open, click, machine open, unsubscribe
        delay = OPEN_MEDIAN_HOURS * float(np.exp(OPEN_SIGMA * rng.standard_normal()))
        return uniforms, delay, float(rng.exponential(12.0))

    def send(
        self,
        campaign_id: int,
        at: dt.datetime,
        rates: dict[str, tuple[float, float]],
        link_id: int | None,
    ) -> int:
        """Deliver the campaign's (or journey's) queued messages at ``at``; ``rates`` gives each
        variant's (human open rate, human click rate). Returns how many went out."""
        rows = sorted(
            self.session.execute(
                select(
                    Message.id,
                    Message.customer_id,
                    Message.campaign_id,
                    Message.variant,
                    Message.idempotency_key,
                ).where(Message.campaign_id == campaign_id, Message.status == "queued")
            ).all(),
            key=lambda row: (row.customer_id, row.idempotency_key),
        )
        updates: list[dict[str, Any]] = []
        bounces: list[tuple[int, int, dt.datetime]] = []
        for i, row in enumerate(rows):
            sent = at + dt.timedelta(seconds=0.4 * i)
            opens, clicks = rates[row.variant or "A"]
            u, delay, leaves_after = self._draws(row.idempotency_key)
            bounced = bool(u[0] < BOUNCE)
            updates.append(
                {
                    "row": row.id,
                    "status": "bounced" if bounced else "sent",
                    "sent": None if bounced else sent,
                    "problem": "550 5.1.1 mailbox unavailable" if bounced else None,
                }
            )
            if bounced:
                bounces.append((row.customer_id, row.campaign_id, sent))
                continue
            events: list[tuple[str, dt.datetime, int | None]] = []
            if u[3] < MACHINE_OPEN:
                events.append(("machine_open", sent + dt.timedelta(seconds=1), None))
            if u[1] < opens:
                seen = sent + dt.timedelta(hours=delay)
                events.append(("open", seen, None))
                if u[2] < clicks / opens:  # only people who opened click
                    events.append(("click", seen + dt.timedelta(minutes=1), link_id))
            if u[4] < UNSUBSCRIBE:
                events.append(("unsubscribe", sent + dt.timedelta(hours=leaves_after), None))
            self.pending.extend(
                _Pending(when, kind, row.id, row.customer_id, row.campaign_id, sent, link)
                for kind, when, link in events
            )
        if not updates:
            return 0
        self.session.connection().execute(_MARK_SENT, updates)
        hashes = self._hashes([c for c, _, _ in bounces])
        add_suppressions(self.session, [
            Suppression(channel="email", address_hash=address, reason="hard_bounce",
                        customer_id=customer_id, campaign_id=campaign_id, source="smtp",
                        created_at=sent)
            for customer_id, campaign_id, sent in bounces
            if (address := hashes.get(customer_id))
        ])  # fmt: skip
        return len(updates) - len(bounces)

    def happen(self, until: dt.datetime) -> None:
        """Write what recipients did up to ``until``."""
        due = sorted(
            (p for p in self.pending if p.at <= until), key=lambda p: (p.at, p.message_id, p.kind)
        )
        if not due:
            return
        self.pending = [p for p in self.pending if p.at > until]
        connection = self.session.connection()
        for kind, statement in (("open", _OPENED), ("click", _CLICKED)):
            rows = [{"row": p.message_id, "at": p.at} for p in due if p.kind == kind]
            if rows:
                connection.execute(statement, rows)
        events = []
        for p in due:
            if p.kind == "machine_open":
                events.append(event_row(p.message_id, "open", p.at, p.sent, machine=True,
                                        agent="Mozilla/5.0"))  # fmt: skip
            else:
                link = p.link_id if p.kind == "click" else None
                events.append(event_row(p.message_id, p.kind, p.at, p.sent, link=link))
        self.session.execute(insert(MessageEvent), events)
        leaving = [p for p in due if p.kind == "unsubscribe"]
        if leaving:
            connection.execute(_UNSUBSCRIBED, [{"row": p.message_id, "at": p.at} for p in leaving])
            hashes = self._hashes([p.customer_id for p in leaving])
            for p in leaving:
                record_consent(
                    self.session, p.customer_id, "email", False, ACTOR, source="unsubscribe",
                    evidence=f"one-click, message {p.message_id}", recorded_at=p.at,
                )  # fmt: skip
            add_suppressions(self.session, [
                Suppression(channel="email", address_hash=address, reason="unsubscribed",
                            customer_id=p.customer_id, campaign_id=p.campaign_id,
                            source="one-click", created_at=p.at)
                for p in leaving
                if (address := hashes.get(p.customer_id))
            ])  # fmt: skip

    def _hashes(self, customer_ids: list[int]) -> dict[int, str | None]:
        found: dict[int, str | None] = {}
        for part in chunks(customer_ids):
            rows = self.session.execute(
                select(Customer.id, Customer.email_hash).where(Customer.id.in_(part))
            )
            found.update((int(c), h) for c, h in rows)
        return found


def reachable_on(session: Session, at: dt.datetime) -> list[int]:
    """Customers who could be e-mailed at ``at``: their latest consent by then a grant, their
    address not hard-bounced or complained of by then."""
    latest: dict[int, bool] = {}
    for customer_id, granted in session.execute(
        select(ConsentRecord.customer_id, ConsentRecord.granted)
        .where(ConsentRecord.channel == "email", ConsentRecord.recorded_at <= at)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    ):
        latest[int(customer_id)] = bool(granted)
    gone = set(
        session.scalars(
            select(Suppression.customer_id).where(
                Suppression.channel == "email",
                Suppression.reason.in_(("hard_bounce", "complaint")),
                Suppression.created_at <= at,
                Suppression.customer_id.is_not(None),
            )
        )
    )
    return sorted(c for c, granted in latest.items() if granted and c not in gone)


def messages_in_week(session: Session, at: dt.datetime) -> dict[int, int]:
    """Campaign and journey messages each customer was sent in the 7 days up to ``at``."""
    since = at - dt.timedelta(days=CAP_DAYS)
    return {
        int(c): int(n)
        for c, n in session.execute(
            select(Message.customer_id, func.count())
            .where(
                Message.campaign_id.is_not(None),
                Message.status == "sent",
                Message.sent_at >= since,
                Message.sent_at <= at,
            )
            .group_by(Message.customer_id)
        )
    }


class SubjectLineTest:
    """The A/B-tested campaign: written as a draft with its test, then sent and looked at on the
    demo's clock (:meth:`moments`, :meth:`at`)."""

    def __init__(
        self,
        session: Session,
        deliveries: Deliveries,
        *,
        start: dt.datetime,
        seed: int,
        currency: str,
        test_share: float = TEST_SHARE,
    ) -> None:
        self.session, self.deliveries, self.currency = session, deliveries, currency
        self.send_at = start + dt.timedelta(days=SEND_DAY, hours=9)
        step = dt.timedelta(hours=DECISION_HOURS) / LOOKS
        self.looks = [self.send_at + step * k for k in range(1, LOOKS + 1)]
        url = SHOP_URL + PATH
        campaign = create_campaign(
            session,
            name=NAME,
            segment=LIST_NAME,
            subject=SUBJECTS[("A", "en")],
            body=BODY_EN.format(intro=INTRO["en"], url=url, cta=CALL["en"]),
            actor=ACTOR,
        )
        for variant, language in (("A", "zh-CN"), ("B", "en"), ("B", "zh-CN")):
            body = BODY_ZH if language == "zh-CN" else BODY_EN
            set_content(
                session, campaign.id, language, SUBJECTS[(variant, language)],
                body.format(intro=INTRO[language], url=url, cta=CALL[language]), ACTOR,
                variant=variant,
            )  # fmt: skip
        update_campaign(session, campaign.id, ACTOR, holdout_share=HOLDOUT_SHARE)
        set_experiment(
            session,
            campaign.id,
            ACTOR,
            metric="click",
            baseline_rate=BASELINE,
            minimum_lift=MINIMUM_LIFT,
            test_share=test_share,
            looks=LOOKS,
            decision_hours=DECISION_HOURS,
        )
        campaign.assignment_seed = int(np.random.default_rng([seed, SEND_DAY]).integers(2**31))
        self.campaign, self.test_share = campaign, test_share
        self.link_id = add_link(session, campaign.id, url)

    def moments(self) -> list[dt.datetime]:
        return [self.send_at, *self.looks]

    def at(self, now: dt.datetime) -> None:
        if now == self.send_at:
            self._send(now)
        elif now in self.looks:
            take_look(self.session, self.campaign.id, self.currency, now, ACTOR)
            # Once the rule decides, the remainder (queued by the domain) goes with the winner.
            if self.deliveries.send(self.campaign.id, now, TRUE_RATES, self.link_id):
                self._finished(now)

    def _send(self, now: dt.datetime) -> None:
        """Freeze the list and send the test, as ``start_sending`` and the sender would."""
        campaign = self.campaign
        seed = campaign.assignment_seed
        assert seed is not None
        reachable = reachable_on(self.session, now)
        recent = messages_in_week(self.session, now)
        customers: dict[int, tuple[str | None, str]] = {}
        for part in chunks(reachable):
            for c, email, language in self.session.execute(
                select(Customer.id, Customer.email, Customer.language).where(Customer.id.in_(part))
            ):
                customers[int(c)] = (email, language or "")
        rows = []
        for customer_id in reachable:
            capped = recent.get(customer_id, 0) >= FREQUENCY_CAP
            arm, variant = (
                ("suppressed", None)
                if capped
                else assign_arm(seed, customer_id, HOLDOUT_SHARE, ["A", "B"], self.test_share)
            )
            email, spoken = customers[customer_id]
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "customer_id": customer_id,
                    "channel": "email",
                    "status": {"test": "queued"}.get(arm, arm),
                    "error": "frequency_cap" if capped else None,
                    "variant": variant,
                    "idempotency_key": f"campaign:{campaign.id}:customer:{customer_id}",
                    "recipient": email,
                    "message_id": f"<ab-{campaign.id}-{customer_id}@{DOMAIN}>",
                    "language": "zh-CN" if spoken.startswith("zh") else "en",
                    "attempts": 0,
                    "created_at": now,
                }
            )
        if rows:
            self.session.execute(insert(Message), rows)
        campaign.status, campaign.started_at = "sending", now
        self.deliveries.send(campaign.id, now, TRUE_RATES, self.link_id)
        if not any(row["status"] == "waiting" for row in rows):
            queued = sum(row["status"] == "queued" for row in rows)
            self._finished(now + dt.timedelta(seconds=0.4 * queued))

    def _finished(self, at: dt.datetime) -> None:
        self.campaign.status, self.campaign.sent_at = "sent", at
        self.session.flush()

    def decision(self) -> tuple[str | None, str | None]:
        """(decision, winner) of the rule, or (None, None) while undecided."""
        experiment = get_experiment(self.session, self.campaign.id)
        if experiment is None or experiment.status != "decided":
            return None, None
        return experiment.decision, experiment.winner
