"""Receiving a verified delivery: remember its event id, do what it says, once.

The interface verifies and reads the delivery (``read_<provider>_delivery``) before it opens the
transaction, then calls :func:`receive_delivery` in it; a
:class:`ConcurrentDeliveryError` means another delivery of the same event (or of the same new
order) committed first, and the interface tries once more in a new transaction, which then
finds what that one did.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.webhooks.events import (
    OUTCOME_WIDTH,
    PING,
    Delivery,
    WebhookResult,
    find_event,
    remember_event,
)
from soloist.domain.webhooks.shopify import handle_shopify_event
from soloist.domain.webhooks.stripe import handle_stripe_event
from soloist.domain.webhooks.woocommerce import handle_woocommerce_event
from soloist.errors import ConflictError, ValidationError

Handler = Callable[[Session, Delivery, str | None], str]
HANDLERS: dict[str, Handler] = {
    "stripe": handle_stripe_event,
    "shopify": handle_shopify_event,
    "woocommerce": handle_woocommerce_event,
}
PROCESSING = "processing"
UNIQUE_VIOLATION_SQLSTATE = "23505"
MYSQL_DUPLICATE_KEY = frozenset({1062, 1586})  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME


class ConcurrentDeliveryError(ConflictError):
    """Another transaction wrote the same event (or the same new row) first; try again."""

    code = "webhook_concurrent_delivery"


def _result(delivery: Delivery, outcome: str, *, duplicate: bool = False) -> WebhookResult:
    return WebhookResult(
        provider=delivery.provider,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        outcome=outcome,
        duplicate=duplicate,
    )


def receive_delivery(
    session: Session, delivery: Delivery, *, currency: str | None = None
) -> WebhookResult:
    """Do what ``delivery`` says in the caller's transaction, with its event remembered there.

    A delivery seen before changes nothing and answers what the first one did
    (``duplicate=True``); a ping writes nothing. An event the rules refuse (an order refunded
    in full that the shop marks paid again, a refund above what the order took, a value that
    cannot be read) is remembered with ``refused: …`` and changes nothing else, so the provider,
    which retries anything but a 2xx, stops sending it. ``currency`` is the workspace's, for a
    loyalty programme launched by a new customer.
    """
    if delivery.event_id is None or delivery.event_type == PING:
        return _result(delivery, "ping: nothing to do")
    earlier = find_event(session, delivery.provider, delivery.event_id)
    if earlier is not None:
        return _result(delivery, earlier.outcome, duplicate=True)
    try:
        # The event's row first: a concurrent duplicate waits here for this transaction.
        event = remember_event(session, delivery, delivery.event_id, PROCESSING)
        try:
            # Whatever the handler wrote is rolled back with the savepoint when it raises.
            with session.begin_nested():
                outcome = HANDLERS[delivery.provider](session, delivery, currency)
        except ConcurrentDeliveryError:
            raise
        except (ConflictError, ValidationError) as exc:
            outcome = f"refused: {exc.message}"
        event.outcome = outcome[:OUTCOME_WIDTH]
        session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise ConcurrentDeliveryError(
            f"Another delivery of {delivery.provider} event {delivery.event_id} was being "
            "handled at the same moment; try again.",
            provider=delivery.provider,
            event_id=delivery.event_id,
        ) from exc
    return _result(delivery, event.outcome)


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a unique key's (another transaction inserted the same key first), not
    a foreign key, NOT NULL or CHECK constraint's, which a second try would only meet again."""
    original = exc.orig
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL, mysqlclient: the error number
        return args[0] in MYSQL_DUPLICATE_KEY
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        return bool(sqlstate == UNIQUE_VIOLATION_SQLSTATE)
    return "UNIQUE constraint failed" in str(original)  # SQLite
