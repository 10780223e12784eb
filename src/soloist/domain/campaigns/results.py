"""What a campaign did: delivered, bounced, unsubscribed, complained, clicked, opened, and the
figure that matters, the orders and revenue of its recipients within the attribution window.

An order counts for a message when the recipient placed it (paid, in the workspace currency,
net of refunds) after the message was sent and within ``attribution_days`` of it. That is what
the campaign was *followed by*, not what it *caused*: a randomised holdout that receives nothing
measures the cause (the A/B and holdout work builds on this). Opens are reported with the share
of machine opens and marked unreliable; clicks count people, not scanners.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from soloist.domain.caches import current_or_previous, inputs_version
from soloist.domain.campaigns.authoring import get_campaign
from soloist.domain.scoring.scores import current_runs
from soloist.money import minor_to_decimal
from soloist.storage.caches import VersionedCache
from soloist.storage.models import (
    AuditEntry,
    Campaign,
    CustomerScore,
    Message,
    MessageEvent,
    Order,
    Segment,
)
from soloist.storage.types import as_utc


def campaign_results(session: Session, campaign_id: int, currency: str) -> dict[str, Any]:
    campaign = get_campaign(session, campaign_id)
    rows: list[Any] = session.execute(
        select(
            Message.id,
            Message.customer_id,
            Message.status,
            Message.error,
            Message.language,
            Message.sent_at,
            Message.opened_at,
            Message.clicked_at,
            Message.unsubscribed_at,
            Message.complained_at,
        ).where(Message.campaign_id == campaign_id)
    ).all()  # type: ignore[assignment]
    status = Counter(r.status for r in rows)
    suppressed_by = Counter(r.error or "other" for r in rows if r.status == "suppressed")
    sent_rows = [r for r in rows if r.sent_at is not None and r.status == "sent"]
    machine_opened = set(
        session.scalars(
            select(MessageEvent.message_id)
            .join(Message, Message.id == MessageEvent.message_id)
            .where(
                Message.campaign_id == campaign_id,
                MessageEvent.kind == "open",
                MessageEvent.machine.is_(True),
            )
            .distinct()
        )
    )
    window = dt.timedelta(days=campaign.attribution_days)
    orders = attributed_orders(session, campaign_id, currency, window)
    by_customer: dict[int, list[tuple[dt.datetime, int]]] = {}
    for customer_id, ordered_at, net in orders:
        by_customer.setdefault(customer_id, []).append((ordered_at, net))
    segments = _segments_of(session, campaign_id) if sent_rows else {}

    def summarise(group: list[Any]) -> dict[str, Any]:
        # Per customer: a journey sends one customer several messages, and an order counts once.
        people = {r.customer_id for r in group}
        buyers = people & by_customer.keys()
        revenue = sum(net for c in buyers for _, net in by_customer[c])
        sent = len(group)
        return {
            "sent": sent,
            "clicked": sum(1 for r in group if r.clicked_at is not None),
            "opened": sum(1 for r in group if r.opened_at is not None),
            "buyers": len(buyers),
            "orders": sum(len(by_customer[c]) for c in buyers),
            "revenue": str(minor_to_decimal(int(revenue), currency)),
            "conversion_rate": round(len(buyers) / len(people), 4) if people else None,
        }

    total = summarise(sent_rows)
    by_language: dict[str, list[Any]] = {}
    by_segment: dict[str, list[Any]] = {}
    for r in sent_rows:
        by_language.setdefault(r.language or "en", []).append(r)
        by_segment.setdefault(segments.get(r.customer_id) or "unscored", []).append(r)
    opened_any = sum(1 for r in sent_rows if r.opened_at is not None or r.id in machine_opened)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "currency": currency,
        "attribution_days": campaign.attribution_days,
        "recipients": len(rows),
        "queued": status.get("queued", 0) + status.get("sending", 0),
        "sent": status.get("sent", 0),
        "failed": status.get("failed", 0),
        "bounced": status.get("bounced", 0),
        "suppressed": status.get("suppressed", 0),
        # Not sent and not to be sent now: drawn to get nothing, or waiting for an A/B winner.
        "held_out": status.get("holdout", 0),
        "waiting": status.get("waiting", 0),
        "suppressed_by_reason": dict(suppressed_by),
        "unsubscribed": sum(1 for r in rows if r.unsubscribed_at is not None),
        "complained": sum(1 for r in rows if r.complained_at is not None),
        "clicked": total["clicked"],
        "opened": total["opened"],
        "machine_opens": len(machine_opened),
        "opens_reliable": False,
        "opens_note": (
            "Opens are unreliable: mail apps and scanners fetch the pixel without a person "
            f"(machine opens, {len(machine_opened)} of {opened_any} opened, are not counted); "
            "judge by clicks and orders."
        ),
        "buyers": total["buyers"],
        "orders": total["orders"],
        "revenue": total["revenue"],
        "conversion_rate": total["conversion_rate"],
        "by_variant": {"A": total},
        "by_language": {k: summarise(v) for k, v in sorted(by_language.items())},
        "by_segment": {k: summarise(v) for k, v in sorted(by_segment.items())},
        "daily": _daily(rows, orders, campaign.sent_at or campaign.started_at, window),
    }


def summarise_campaigns(
    session: Session, currency: str, figures: dict[int, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every campaign, newest first, as the list of campaigns shows it: its segment, and once
    sending started, how many it was sent to, clicks, and the orders and revenue that followed
    (as :func:`campaign_results` counts them; from ``figures`` when given, as
    :func:`current_campaign_figures` keeps them, for the campaigns they hold)."""
    segments = dict(session.execute(select(Segment.id, Segment.name)).all())
    rows = []
    statement = select(Campaign).where(Campaign.journey.is_(None)).order_by(Campaign.id.desc())
    for campaign in session.scalars(statement):
        row: dict[str, Any] = {
            "id": campaign.id,
            "name": campaign.name,
            "status": campaign.status,
            "channel": campaign.channel,
            "segment": segments.get(campaign.segment_id) if campaign.segment_id else None,
            "scheduled_at": campaign.scheduled_at,
            "started_at": campaign.started_at,
            "sent_at": campaign.sent_at,
            "created_at": campaign.created_at,
            "started": campaign.started_at is not None,
            "recipients": 0,
            "sent": 0,
            "clicked": 0,
            "orders": 0,
            "revenue": None,
            "conversion_rate": None,
        }
        if campaign.started_at is not None:
            known = (figures or {}).get(campaign.id)
            row.update(known if known is not None else _list_figures(session, campaign, currency))
        rows.append(row)
    return rows


def campaign_list_figures(session: Session, currency: str) -> dict[int, dict[str, Any]]:
    """The list's figures of every started campaign, by campaign id."""
    started = select(Campaign).where(Campaign.journey.is_(None), Campaign.started_at.is_not(None))
    return {c.id: _list_figures(session, c, currency) for c in session.scalars(started)}


_figures: VersionedCache[tuple[str, str], dict[int, dict[str, Any]]] = VersionedCache(
    "campaign figures", maxsize=4, kept=True
)


def current_campaign_figures(
    session: Session, currency: str
) -> tuple[dict[int, dict[str, Any]], bool]:
    """The campaign list's figures and whether they are the previous ones (then a background
    thread is counting the current ones): each campaign's orders are matched to its messages,
    a second a campaign at a hundred thousand customers. Kept until an order, a message, a
    send, an open or click, or an audited change arrives, and at most an hour."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = inputs_version(
        session,
        func.max(Order.id),
        func.max(Message.id),
        select(func.count()).where(Message.status == "sent").scalar_subquery(),
        func.max(MessageEvent.id),
        func.max(AuditEntry.id),
    )
    return current_or_previous(
        _figures,
        session,
        (url, currency),
        version,
        lambda own: campaign_list_figures(own, currency),
    )


def _list_figures(session: Session, campaign: Campaign, currency: str) -> dict[str, Any]:
    """The list's figures of a started campaign, counted as :func:`campaign_results` counts
    them, by aggregates: the results read (and type) every message row, seconds for a list of
    campaigns sent to a hundred thousand customers."""
    sent = and_(Message.status == "sent", Message.sent_at.is_not(None))
    recipients, sent_count, clicked, people = session.execute(
        select(
            func.count(Message.id),
            func.count(case((Message.status == "sent", Message.id))),
            func.count(case((and_(sent, Message.clicked_at.is_not(None)), Message.id))),
            func.count(func.distinct(case((sent, Message.customer_id)))),
        ).where(Message.campaign_id == campaign.id)
    ).one()
    window = dt.timedelta(days=campaign.attribution_days)
    orders = attributed_orders(session, campaign.id, currency, window)
    buyers = {customer_id for customer_id, _, _ in orders}
    return {
        "recipients": int(recipients),
        "sent": int(sent_count),
        "clicked": int(clicked),
        "orders": len(orders),
        "revenue": str(minor_to_decimal(sum(net for _, _, net in orders), currency)),
        "conversion_rate": round(len(buyers) / people, 4) if people else None,
    }


def attributed_orders(
    session: Session, campaign_id: int, currency: str, window: dt.timedelta
) -> list[tuple[int, dt.datetime, int]]:
    """(customer, ordered_at, net minor units) of paid orders within the window of a message
    the customer was sent."""
    first, last = session.execute(
        select(func.min(Message.sent_at), func.max(Message.sent_at)).where(
            Message.campaign_id == campaign_id, Message.status == "sent"
        )
    ).one()
    if first is None or last is None:
        return []
    statement = (
        select(
            Order.id,
            Order.customer_id,
            Order.ordered_at,
            Order.total_minor - Order.refunded_minor,
            Message.sent_at,
        )
        .join(
            Message,
            and_(
                Message.customer_id == Order.customer_id,
                Message.campaign_id == campaign_id,
                Message.status == "sent",
            ),
        )
        .where(
            Order.status == "paid",
            Order.currency == currency,
            Order.ordered_at >= Message.sent_at,
            # the orders of every message's window lie between these: the rest of the
            # customers' history is never read (each order is checked against its own
            # message's window below)
            Order.ordered_at >= as_utc(first),
            Order.ordered_at <= as_utc(last) + window,
        )
    )
    found: dict[int, tuple[int, dt.datetime, int]] = {}  # each order once, however many
    for order_id, customer_id, ordered_at, net, sent_at in session.execute(statement):  # messages
        if sent_at is not None and ordered_at <= as_utc(sent_at) + window:
            found.setdefault(int(order_id), (int(customer_id), ordered_at, int(net or 0)))
    return list(found.values())


def _segments_of(session: Session, campaign_id: int) -> dict[int, str]:
    """The current segment of each recipient of the campaign, joined in the database: a list of
    the recipients' ids in one ``IN`` would pass SQLite's 250,000-value limit on a large send."""
    run_id = current_runs(session).get("segment")
    if run_id is None:
        return {}
    recipients = (
        select(Message.customer_id).where(Message.campaign_id == campaign_id).distinct()
    ).subquery()
    rows = session.execute(
        select(CustomerScore.customer_id, CustomerScore.segment)
        .join(recipients, recipients.c.customer_id == CustomerScore.customer_id)
        .where(CustomerScore.model_run_id == run_id)
    )
    return {int(c): str(s) for c, s in rows if s}


def _daily(
    rows: list[Any],
    orders: list[tuple[int, dt.datetime, int]],
    start: dt.datetime | None,
    window: dt.timedelta,
) -> list[dict[str, Any]]:
    """Clicks and attributed orders per day since the send, for the results chart."""
    if start is None:
        return []
    start = as_utc(start)
    days = window.days + 1
    clicks = Counter((as_utc(r.clicked_at) - start).days for r in rows if r.clicked_at is not None)
    bought = Counter((as_utc(at) - start).days for _, at, _ in orders)
    return [
        {"day": day, "clicks": clicks.get(day, 0), "orders": bought.get(day, 0)}
        for day in range(days)
    ]


def count_recipients(session: Session, campaign_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Message.campaign_id == campaign_id)) or 0)
