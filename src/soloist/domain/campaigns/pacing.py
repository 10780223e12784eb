"""When a message may go: the frequency cap, quiet hours, each customer's best hour, and the
random draw that puts a customer in a campaign's holdout or one of its A/B variants.

* **Frequency cap**: at most ``frequency_cap`` campaign and journey messages reach a customer
  in any 7 days (queued ones count, so two sends starting together cannot both use the last
  place).
* **Quiet hours**: ``quiet_hours`` (``21-8``) in the customer's own time zone, else the
  workspace's; a message due then waits for the end of them.
* **Send time**: with ``send_time = optimised`` each customer's message waits for their best
  hour of the week (:class:`soloist.analytics.SendTimeModel`, fitted on the human clicks and the
  orders of the last year, drawn by Thompson sampling so that it keeps learning) within the
  campaign's window.
* **Assignment**: a keyed hash of (seed, customer) is a uniform number that is the same each
  time it is drawn, so a re-frozen list, a restart or an audit re-derives every arm.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.storage.bulk import chunks
from soloist.storage.models import Customer, Interaction, Message, MessageEvent, Order
from soloist.storage.types import as_utc

CAP_DAYS = 7
HISTORY_DAYS = 365
HOURS_PER_WEEK = 168


def uniform(seed: int, customer_id: int, purpose: str) -> float:
    """A number in [0, 1) fixed by (seed, customer, purpose): the same draw every time."""
    digest = hashlib.sha256(f"{seed}:{customer_id}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_arm(
    seed: int, customer_id: int, holdout_share: float, variants: list[str], test_share: float
) -> tuple[str, str | None]:
    """("holdout", None), ("test", variant) or ("waiting", None) for one reachable customer:
    the holdout first, then the test's share split evenly over the variants; the rest waits
    for the winner."""
    if holdout_share > 0 and uniform(seed, customer_id, "holdout") < holdout_share:
        return "holdout", None
    if len(variants) <= 1:
        return "test", variants[0] if variants else None
    if test_share < 1 and uniform(seed, customer_id, "test") >= test_share:
        return "waiting", None
    index = min(int(uniform(seed, customer_id, "variant") * len(variants)), len(variants) - 1)
    return "test", variants[index]


@dataclass(frozen=True)
class SendPolicy:
    """The workspace's limits on reaching a customer: the frequency cap (0: none), quiet hours
    and the time zone of customers who have none of their own."""

    frequency_cap: int = 0
    quiet: tuple[int, int] | None = None
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: Settings) -> SendPolicy:
        return cls(settings.frequency_cap, quiet_range(settings), settings.timezone)

    def when(self, at: dt.datetime, customer_zone: str | None) -> dt.datetime:
        """The first moment from ``at`` outside the customer's quiet hours."""
        return after_quiet_hours(at, zone(customer_zone, self.timezone), self.quiet)


def zone(name: str | None, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_range(settings: Settings) -> tuple[int, int] | None:
    if not settings.quiet_hours:
        return None
    start, _, end = settings.quiet_hours.partition("-")
    return int(start), int(end)


def is_quiet(hour: int, quiet: tuple[int, int] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    return start <= hour < end if start < end else hour >= start or hour < end


def after_quiet_hours(at: dt.datetime, tz: ZoneInfo, quiet: tuple[int, int] | None) -> dt.datetime:
    """``at`` (UTC) if it is outside quiet hours in ``tz``, else the end of those hours."""
    local = at.astimezone(tz)
    if not is_quiet(local.hour, quiet):
        return at
    assert quiet is not None
    end = local.replace(hour=quiet[1], minute=0, second=0, microsecond=0)
    if end <= local:
        end = (local + dt.timedelta(days=1)).replace(
            hour=quiet[1], minute=0, second=0, microsecond=0
        )
    # Through wall-clock time: a DST change inside the quiet hours moves the end, not the hour.
    return end.replace(tzinfo=None).replace(tzinfo=tz).astimezone(dt.UTC)


def recent_message_counts(
    session: Session, customer_ids: Iterable[int], now: dt.datetime, days: int = CAP_DAYS
) -> dict[int, int]:
    """Campaign and journey messages per customer sent (or about to be) in the last ``days``."""
    since = now - dt.timedelta(days=days)
    counts: dict[int, int] = {}
    for part in chunks(list(customer_ids)):
        rows = session.execute(
            select(Message.customer_id, func.count())
            .where(
                Message.customer_id.in_(part),
                Message.campaign_id.is_not(None),
                (
                    (Message.status == "sent") & (Message.sent_at >= since)
                    | Message.status.in_(("queued", "sending")) & (Message.created_at >= since)
                ),
            )
            .group_by(Message.customer_id)
        )
        counts.update({int(c): int(n) for c, n in rows})
    return counts


def engagement_events(session: Session, now: dt.datetime) -> pd.DataFrame:
    """Human clicks, orders and the customer's own messages of the last year: what the
    send-time model learns from."""
    since = now - dt.timedelta(days=HISTORY_DAYS)
    clicks = session.execute(
        select(Message.customer_id, MessageEvent.occurred_at)
        .join(Message, Message.id == MessageEvent.message_id)
        .where(
            MessageEvent.kind == "click",
            MessageEvent.machine.is_(False),
            MessageEvent.occurred_at >= since,
        )
    ).all()
    orders = session.execute(
        select(Order.customer_id, Order.ordered_at).where(
            Order.status == "paid", Order.ordered_at >= since
        )
    ).all()
    # A customer's own messages, calls and chats also say when they are about (a click alone
    # says little: it follows our send within minutes).
    inbound = session.execute(
        select(Interaction.customer_id, Interaction.occurred_at).where(
            Interaction.direction == "inbound", Interaction.occurred_at >= since
        )
    ).all()
    rows = [(int(c), as_utc(at)) for c, at in [*clicks, *orders, *inbound]]
    events = pd.DataFrame(rows, columns=["customer", "timestamp"])
    zones = customer_zones(session, sorted({c for c, _ in rows}))
    # Habits are hours of the customer's own day: events are placed in their zone (the
    # workspace's, given to the model, when they have none).
    events["timezone"] = [zones.get(c) or "" for c in events["customer"]]
    return events


def customer_zones(session: Session, customer_ids: list[int]) -> dict[int, str | None]:
    found: dict[int, str | None] = {}
    for part in chunks(customer_ids):
        rows = session.execute(
            select(Customer.id, Customer.timezone).where(Customer.id.in_(part))
        ).all()
        found.update({int(c): tz for c, tz in rows})
    return found


def best_send_times(
    session: Session,
    customer_ids: list[int],
    now: dt.datetime,
    window_hours: int,
    seed: int,
    timezone: str = "UTC",
) -> dict[int, dt.datetime]:
    """Each customer's send time: their best hour of the week (Thompson-sampled) within the
    next ``window_hours``; habits are learnt in each customer's own time zone (``timezone``,
    the workspace's, for those without one)."""
    from soloist.analytics import SendTimeModel, next_send_time

    if not customer_ids:
        return {}
    start = now.replace(minute=0, second=0, microsecond=0)
    hours = max(1, min(window_hours, HOURS_PER_WEEK))
    allowed = sorted({_hour_of_week(start + dt.timedelta(hours=h)) for h in range(hours)})
    events = engagement_events(session, now)
    if events.empty:
        # Nothing learnt yet: an exploratory send, each customer at a random hour of the window.
        rng = np.random.default_rng(seed)
        hours_drawn = rng.choice(allowed, size=len(customer_ids))
        chosen = pd.DataFrame({"customer": customer_ids, "hour_of_week": hours_drawn})
    else:
        model = SendTimeModel(default_timezone=zone(None, timezone).key).fit(events)
        zones = {c: tz for c, tz in customer_zones(session, customer_ids).items() if tz}
        chosen = model.best_hours(
            customer_ids, sample=True, random_state=seed, allowed_hours=allowed,
            timezones=zones, at=now,
        )  # fmt: skip
    times: dict[int, dt.datetime] = {}
    for customer, hour in zip(chosen["customer"], chosen["hour_of_week"], strict=True):
        times[int(customer)] = max(now, next_send_time(int(hour), start))
    return times


def _hour_of_week(at: dt.datetime) -> int:
    return at.weekday() * 24 + at.hour
