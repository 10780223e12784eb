"""The memory of webhook deliveries: what each event id did, so a replay changes nothing.

Every provider retries a delivery it did not see answered with a 2xx, and may send one event
twice; ``webhook_events`` keeps ``(provider, event_id)`` unique. The row is written first in the
transaction that makes the change, so two concurrent deliveries of one event meet at that unique
key: the second waits for the first and then fails to insert (PostgreSQL, MariaDB) or finds the
row (SQLite, whose writers take the lock at BEGIN), and either way nothing is done twice.

The same table also keeps a few keys a provider sends in one event and not in another (see
``remember_key``): Shopify's refund events name the order by its numeric id only, while its
order exports (and so Soloist's order numbers) use the order's name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.storage.models import WebhookEvent

OUTCOME_WIDTH = 255
KEY_EVENT_TYPE = "key"  # rows of remember_key, not deliveries
PING = "ping"


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery: who sent it, its event id (None for a ping), its kind and
    its JSON body."""

    provider: str
    event_id: str | None
    event_type: str
    body: dict[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class WebhookResult:
    """What a delivery did; ``duplicate`` when the event had been handled before and this answer
    repeats the first one's outcome."""

    provider: str
    event_id: str | None
    event_type: str
    outcome: str
    duplicate: bool = False


def find_event(session: Session, provider: str, event_id: str) -> WebhookEvent | None:
    query = select(WebhookEvent).where(
        WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
    )
    return session.scalars(query).first()


def remember_event(
    session: Session, delivery: Delivery, event_id: str, outcome: str
) -> WebhookEvent:
    """Write the event's row now (flushed), so a concurrent duplicate meets it at once."""
    event = WebhookEvent(
        provider=delivery.provider,
        event_id=event_id[:255],
        event_type=delivery.event_type[:64],
        outcome=outcome[:OUTCOME_WIDTH],
        received_at=delivery.received_at,
    )
    session.add(event)
    session.flush()
    return event


KEY_WIDTH = 255


def _key_row(
    session: Session, provider: str, key: str, *, lock: bool = False
) -> WebhookEvent | None:
    query = select(WebhookEvent).where(
        WebhookEvent.provider == provider,
        WebhookEvent.event_id == key[:KEY_WIDTH],
        WebhookEvent.event_type == KEY_EVENT_TYPE,
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def recall_key(session: Session, provider: str, key: str, *, lock: bool = False) -> str | None:
    """The value ``remember_key`` or ``keep_key`` stored under ``key``, or None; ``lock`` locks
    its row until the transaction ends (and reads its newest committed value)."""
    row = _key_row(session, provider, key, lock=lock)
    return None if row is None else row.outcome


def remember_key(session: Session, provider: str, key: str, value: str) -> bool:
    """Keep ``key`` → ``value`` (e.g. ``order-id:450789469`` → ``shopify:#1001``) unless a value
    is kept already; True when written."""
    if recall_key(session, provider, key) is not None:
        return False
    _add_key(session, provider, key, value)
    return True


def keep_key(session: Session, provider: str, key: str, value: str) -> None:
    """Keep ``key`` → ``value``, replacing a value kept before (the row locked first)."""
    row = _key_row(session, provider, key, lock=True)
    if row is None:
        _add_key(session, provider, key, value)
    else:
        row.outcome = value[:OUTCOME_WIDTH]
        session.flush()


def _add_key(session: Session, provider: str, key: str, value: str) -> None:
    session.add(
        WebhookEvent(
            provider=provider,
            event_id=key[:KEY_WIDTH],
            event_type=KEY_EVENT_TYPE,
            outcome=value[:OUTCOME_WIDTH],
        )
    )
    session.flush()
