"""Sending a campaign so that a crash loses nobody and repeats at most one message.

Every recipient has a message row (frozen when sending starts) whose status is the send
ledger: ``queued`` → ``sending`` → ``sent``. One sender at a time holds the campaign (a lock the
operating system or the database server drops when the sender dies, :mod:`soloist.storage.leases`),
and it moves through the rows one message at a time, in one transaction per message:

1. commit: the previous message ``sent`` (the server has answered 250), this one ``sending``;
2. hand this one to the channel;
3. (the next message's commit records it ``sent``).

A sender killed at any moment leaves at most one row ``sending``: the message whose fate it
did not record. The next sender sends that one first, again, with the same Message-ID (fixed
in the row), so a receiving server that keeps Message-IDs can drop the copy. So the guarantee:
**every recipient gets the message once; a crash can repeat at most one message, and that one
carries the same Message-ID.** (listmonk, by contrast, moves its cursor when it *reads* a
batch and loses the unsent rest of the batch on a crash: listmonk #3022.)

A temporary refusal (SMTP 4xx) puts the message back in the queue with a growing delay; after
:data:`MAX_ATTEMPTS` it has failed. A permanent refusal of the address (SMTP 5xx) is a hard
bounce: the address is suppressed for every later campaign. A server that cannot be reached
stops the send; the campaign stays ``sending`` and continues where it stopped. A message left
in doubt by :data:`MAX_ATTEMPTS` senders (its sending ends the sender, by a crash or by an error
no channel expects) is given up as failed, so that it cannot hold up the messages after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.audit import record_audit
from soloist.domain.campaigns.audience import add_suppressions, address_of
from soloist.domain.campaigns.authoring import get_campaign, start_sending
from soloist.domain.campaigns.channels import (
    Channel,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    channel_for,
)
from soloist.domain.campaigns.compose import Composer
from soloist.domain.campaigns.pacing import SendPolicy
from soloist.domain.campaigns.smtp import mail_domain
from soloist.errors import (
    ChannelNotConfiguredError,
    ChannelUnavailableError,
    ConflictError,
    TemplateError,
)
from soloist.storage.database import Database
from soloist.storage.leases import hold_process_lock
from soloist.storage.models import Campaign, Customer, Message, Suppression
from soloist.storage.types import utcnow

log = logging.getLogger("soloist.campaigns")

MAX_ATTEMPTS = 5
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
BATCH = 200
Clock = Callable[[], dt.datetime]


class CampaignBusyError(ConflictError):
    """Another process is sending this campaign now."""

    code = "campaign_busy"


@dataclass
class SendReport:
    campaign_id: int
    status: str
    sent: int = 0
    resent_in_doubt: int = 0
    retry_later: int = 0
    failed: int = 0
    bounced: int = 0
    next_retry_at: dt.datetime | None = None
    stopped: str | None = None  # why the send stopped before the end
    errors: list[str] = field(default_factory=list)


class _Pacer:
    """At most ``rate`` messages per second (a moving window, from the ``limits`` library)."""

    def __init__(self, rate: float) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage()) if rate > 0 else None
        per_second = max(1, round(rate)) if rate >= 1 else 1
        seconds = 1 if rate >= 1 else max(1, round(1 / rate)) if rate > 0 else 1
        self.item = RateLimitItemPerSecond(per_second, seconds)

    def wait(self) -> None:
        if self.limiter is None:
            return
        while not self.limiter.hit(self.item, "send"):
            reset = self.limiter.get_window_stats(self.item, "send").reset_time
            time.sleep(max(0.001, min(1.0, reset - time.time())))


@dataclass(frozen=True)
class _GiveUp:
    """A message not to send again: why."""

    message: str


def sender_lock_name(campaign_id: int) -> str:
    return f"campaign-sender-{campaign_id}"


def send_campaign(
    database: Database,
    campaign_id: int,
    actor: str,
    *,
    channel: Channel | None = None,
    clock: Clock = utcnow,
    time_budget_s: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SendReport:
    """Send ``campaign_id`` now (a draft or scheduled one starts: its list is frozen; a paused
    one resumes), until every message is out, the time budget is spent, ``should_stop`` says
    so, the owner pauses or cancels it, or the channel fails. Safe to call again after a
    crash: it continues where the last sender stopped."""
    with hold_process_lock(database.engine, sender_lock_name(campaign_id)) as held:
        if not held:
            raise CampaignBusyError(
                f"Campaign {campaign_id} is being sent by another process; it will finish it.",
                campaign_id=campaign_id,
            )
        settings = database.settings
        own_channel = channel is None
        with database.session() as session:
            campaign = get_campaign(session, campaign_id)
            if channel is None and campaign.status in ("draft", "scheduled", "paused", "sending"):
                # Missing settings are refused before the list is frozen: a campaign that
                # cannot be sent stays as it was.
                channel = channel_for(settings, campaign.channel)
            if campaign.status in ("draft", "scheduled", "paused"):
                start_sending(
                    session,
                    campaign_id,
                    actor,
                    settings.currency,
                    mail_domain(settings.mail_from),
                    clock(),
                    SendPolicy.from_settings(settings),
                )
            status = campaign.status
        report = SendReport(campaign_id, status)
        if status != "sending":
            if own_channel and channel is not None:
                channel.close()
            return report
        try:
            assert channel is not None
            _Sender(database, campaign_id, channel, clock, report, actor).run(
                time_budget_s, should_stop, on_progress
            )
        except ChannelUnavailableError as exc:
            report.stopped = "channel_unavailable"
            report.errors.append(exc.message)
            with database.session() as session:
                get_campaign(session, campaign_id).last_error = exc.message[:2000]
            raise
        finally:
            if own_channel and channel is not None:
                channel.close()
        return report


class _Sender:
    def __init__(
        self,
        database: Database,
        campaign_id: int,
        channel: Channel,
        clock: Clock,
        report: SendReport,
        actor: str,
    ) -> None:
        self.database, self.campaign_id, self.channel = database, campaign_id, channel
        self.clock, self.report, self.actor = clock, report, actor
        self.pacer = _Pacer(database.settings.mail_rate)
        self.ledger: Connection | None = None  # the claims' connection, while sending
        with database.session() as session:
            campaign = get_campaign(session, campaign_id)
            self.composer = Composer(
                session, campaign, database.settings, database.keyring, clock()
            )
            self.total = int(
                session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.campaign_id == campaign_id, Message.status != "suppressed")
                )
                or 0
            )

    def run(
        self,
        time_budget_s: float | None,
        should_stop: Callable[[], bool] | None,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
        previous: int | None = None  # handed to the channel, not yet recorded as sent
        try:
            while True:
                if previous is not None:  # recorded before the next batch is read
                    with self.database.session() as session:
                        _mark_sent(session, previous, self.clock())
                    previous = None
                batch = self._next_batch()
                if not batch:
                    break
                for message_row, outgoing in batch:
                    if (deadline is not None and time.monotonic() > deadline) or (
                        should_stop is not None and should_stop()
                    ):
                        self.report.stopped = "stopped"
                        return
                    if not self._claim(previous, message_row):
                        previous = None
                        self.report.stopped = self.report.status
                        return
                    previous = None
                    if isinstance(outgoing, TemplateError | _GiveUp):
                        self._give_up(message_row, outgoing.message, bounce=False)
                        continue
                    self.pacer.wait()
                    try:
                        self.channel.send(outgoing)
                    except TemporaryDeliveryError as exc:
                        self._later(message_row, str(exc))
                        continue
                    except PermanentDeliveryError as exc:
                        self._give_up(message_row, str(exc), bounce=exc.bounce)
                        continue
                    except ChannelUnavailableError as exc:
                        if exc.details.get("in_doubt") is False:  # never handed over
                            self._release(message_row)
                        raise
                    previous = message_row
                    self.report.sent += 1
                    if on_progress is not None:
                        on_progress(self.report.sent, self.total)
        finally:
            self._finish(previous)

    def _next_batch(self) -> list[tuple[int, OutgoingMessage | TemplateError | _GiveUp]]:
        """The next messages due, in-doubt ones (``sending``) first, rendered in one
        transaction (it stores any new link of the campaign). One left in doubt by
        :data:`MAX_ATTEMPTS` senders is given up: sending it ends the send every time (as an
        address ``smtplib`` cannot encode does), and it would hold up every message after it."""
        now = self.clock()
        with self.database.session() as session:
            rows = session.execute(
                select(
                    Message.id,
                    Message.customer_id,
                    Message.message_id,
                    Message.recipient,
                    Message.language,
                    Message.status,
                    Message.attempts,
                    Message.variant,
                )
                .where(
                    Message.campaign_id == self.campaign_id,
                    Message.status.in_(("queued", "sending")),
                    (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
                )
                .order_by(case((Message.status == "sending", 0), else_=1), Message.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return []
            self.composer.bind(session)
            fields = self.composer.fields.for_customers(session, [r.customer_id for r in rows])
            batch: list[tuple[int, OutgoingMessage | TemplateError | _GiveUp]] = []
            for row in rows:
                if row.status == "sending" and row.attempts >= MAX_ATTEMPTS:
                    batch.append((row.id, _GiveUp(
                        f"Given up: {row.attempts} senders stopped while sending it "
                        "(a crash, or an error sending this message; see the worker's log)."
                    )))  # fmt: skip
                    continue
                if row.status == "sending":
                    self.report.resent_in_doubt += 1
                customer = fields.get(row.customer_id, {"id": row.customer_id, "name": ""})
                try:
                    outgoing: OutgoingMessage | TemplateError = self.composer.compose(
                        customer,
                        message_row=row.id,
                        message_id=row.message_id,
                        recipient=row.recipient or "",
                        language=row.language,
                        variant=row.variant,
                    )
                except TemplateError as exc:
                    outgoing = exc
                batch.append((row.id, outgoing))
            return batch

    def _claim(self, previous: int | None, message_row: int) -> bool:
        """One commit: the previous message sent, this one sending; False (and nothing
        claimed) when the owner has paused or cancelled the campaign meanwhile."""
        now = self.clock()
        if self.ledger is None:  # one connection for every claim of the send (no pool round)
            self.ledger = self.database.engine.connect()
        with self.ledger.begin():
            if previous is not None:
                self.ledger.execute(_MARK_SENT, {"row": previous, "now": now})
            status = self.ledger.scalar(_CAMPAIGN_STATUS, {"campaign": self.campaign_id})
            if status != "sending":
                self.report.status = str(status)
                return False
            self.ledger.execute(_CLAIM, {"row": message_row})
        return True

    def _release(self, message_row: int) -> None:
        """Queue again, as if never claimed, a message the channel did not take (its server
        could not be reached): an outage must not use up its attempts."""
        with self.database.session() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_row, Message.status == "sending")
                .values(status="queued", attempts=Message.attempts - 1)
            )

    def _later(self, message_row: int, error: str) -> None:
        now = self.clock()
        with self.database.session() as session:
            message = session.get(Message, message_row)
            assert message is not None
            message.error = error[:255]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
                self.report.failed += 1
                return
            delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
            message.status, message.next_attempt_at = "queued", now + delay
            self.report.retry_later += 1
            due = message.next_attempt_at
            if self.report.next_retry_at is None or due < self.report.next_retry_at:
                self.report.next_retry_at = due

    def _give_up(self, message_row: int, error: str, *, bounce: bool) -> None:
        now = self.clock()
        with self.database.session() as session:
            message = session.get(Message, message_row)
            assert message is not None
            message.error = error[:255]
            message.status = "bounced" if bounce else "failed"
            if bounce:
                self.report.bounced += 1
                suppress_recipient(
                    session, message, "hard_bounce", source="smtp", detail=error, now=now
                )
            else:
                self.report.failed += 1

    def _finish(self, previous: int | None) -> None:
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
        now = self.clock()
        with self.database.session() as session:
            if previous is not None:
                _mark_sent(session, previous, now)
            open_rows = dict(
                session.execute(
                    select(Message.status, func.count())
                    .where(
                        Message.campaign_id == self.campaign_id,
                        Message.status.in_(("queued", "sending", "waiting")),
                    )
                    .group_by(Message.status)
                ).all()
            )
            campaign = get_campaign(session, self.campaign_id)
            # A journey's campaign never ends; an A/B test's remainder waits for the winner.
            if not open_rows and campaign.status == "sending" and campaign.journey is None:
                campaign.status, campaign.sent_at, campaign.last_error = "sent", now, None
                record_audit(session, self.actor, "campaign.sent", "campaign", campaign.id, {})
            self.report.status = campaign.status
            if open_rows.keys() - {"waiting"} and self.report.next_retry_at is None:
                self.report.next_retry_at = session.scalar(
                    select(func.min(Message.next_attempt_at)).where(
                        Message.campaign_id == self.campaign_id, Message.status == "queued"
                    )
                )


# The statements of the per-message commit, built once and run as plain SQL on one connection:
# through the ORM (an ORM-enabled UPDATE, built anew each time, in a new session) the commit
# cost more than the SMTP exchange of the message it records.
_MARK_SENT = (
    update(Message)
    .where(Message.id == bindparam("row"), Message.status == "sending")
    .values(status="sent", sent_at=bindparam("now"), error=None, next_attempt_at=None)
)
_CAMPAIGN_STATUS = select(Campaign.status).where(Campaign.id == bindparam("campaign"))
_CLAIM = (
    update(Message)
    .where(Message.id == bindparam("row"))
    .values(status="sending", attempts=Message.attempts + 1)
)


def _mark_sent(session: Session, message_row: int, now: dt.datetime) -> None:
    session.connection().execute(_MARK_SENT, {"row": message_row, "now": now})


def suppress_recipient(
    session: Session,
    message: Message,
    reason: str,
    *,
    source: str,
    detail: str | None,
    now: dt.datetime,
) -> None:
    """Record that the message's address is not to be sent to again on its channel (once per
    reason): it bounced for good, complained or unsubscribed."""
    customer = session.get(Customer, message.customer_id)
    address_hash = address_of(customer, message.channel)[1] if customer else None
    if not address_hash:
        return
    suppression = Suppression(
        channel=message.channel,
        address_hash=address_hash,
        reason=reason,
        customer_id=message.customer_id,
        campaign_id=message.campaign_id,
        source=source,
        detail=(detail or "")[:255] or None,
        created_at=now,
    )
    add_suppressions(session, [suppression])


def queue_campaign(
    session: Session, campaign_id: int, actor: str, settings: Settings, now: dt.datetime
) -> Campaign:
    """Start sending in the background (the API's and the web app's "send"): the channel's
    settings are checked, the recipient list is frozen, and the worker sends it (a paused
    campaign resumes; one sending already is left as it is)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status in ("draft", "scheduled", "paused"):
        channel_for(settings, campaign.channel).close()  # no connection yet: settings only
    policy = SendPolicy.from_settings(settings)
    start_sending(session, campaign_id, actor, settings.currency,
                  mail_domain(settings.mail_from), now, policy)  # fmt: skip
    return get_campaign(session, campaign_id)


def due_campaigns(session: Session, now: dt.datetime) -> list[int]:
    """Campaigns a worker should send now: those sending with a message due, those sending
    with no message left to send (a sender died between recording its last message and
    marking the campaign sent, or everybody was suppressed: the worker marks them sent), and
    scheduled ones whose time has come."""
    open_messages = select(Message.campaign_id).where(
        Message.campaign_id == Campaign.id, Message.status.in_(("queued", "sending", "waiting"))
    )
    due_messages = select(Message.campaign_id).where(
        Message.campaign_id == Campaign.id,
        Message.status.in_(("queued", "sending")),
        (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
    )
    finished = ~open_messages.exists() & Campaign.journey.is_(None)
    statement = (
        select(Campaign.id)
        .where(
            ((Campaign.status == "sending") & (due_messages.exists() | finished))
            | ((Campaign.status == "scheduled") & (Campaign.scheduled_at <= now))
        )
        .order_by(Campaign.id)
    )
    return list(session.scalars(statement))


def send_due_campaigns(
    database: Database,
    actor: str,
    *,
    clock: Clock = utcnow,
    time_budget_s: float | None = 30.0,
    should_stop: Callable[[], bool] | None = None,
) -> list[SendReport]:
    """What the worker does between jobs: send each campaign that is due, for at most
    ``time_budget_s`` each, so the other jobs get their turn. A campaign another process is
    sending is left to it; a channel that cannot be reached is tried again next time."""
    with database.read_session() as session:
        due = due_campaigns(session, clock())
    reports = []
    for campaign_id in due:
        if should_stop is not None and should_stop():
            break
        try:
            reports.append(
                send_campaign(
                    database,
                    campaign_id,
                    actor,
                    clock=clock,
                    time_budget_s=time_budget_s,
                    should_stop=should_stop,
                )
            )
        except CampaignBusyError:
            continue
        except (ChannelUnavailableError, ChannelNotConfiguredError) as exc:
            report = SendReport(campaign_id, "sending", stopped="channel_unavailable")
            report.errors.append(exc.message)
            with database.session() as session:
                get_campaign(session, campaign_id).last_error = exc.message[:2000]
            reports.append(report)
        except Exception as exc:  # one campaign's fault stops neither the others nor the jobs
            log.exception("campaign %s: the send stopped", campaign_id)
            error = f"{type(exc).__name__}: {exc}"
            report = SendReport(campaign_id, "sending", stopped="error", errors=[error])
            with database.session() as session:
                get_campaign(session, campaign_id).last_error = error[:2000]
            reports.append(report)
    return reports
