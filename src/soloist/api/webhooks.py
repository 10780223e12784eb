"""/api/v1/webhooks: deliveries from Stripe, Shopify and WooCommerce.

No API token here: each provider signs its deliveries and the signature, checked over the raw
body before anything is parsed, is the authentication. A bad, malformed or missing one answers
401 and writes nothing; a body over 1 MiB answers 413 unread; a provider whose secret is not set
answers 503; a signed delivery without an event id or a JSON object answers 422. Events already
handled answer 200 with what was done the first time, kinds Soloist does not use answer 200
``ignored``, and events the rules refuse (a value that cannot be read included) are remembered
and answer 200 ``refused: …`` (the providers retry anything but a 2xx, then turn the webhook
off).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from soloist.api.deps import write_turn
from soloist.api.errors import ErrorPublic
from soloist.config import Settings
from soloist.domain.webhooks import (
    ConcurrentDeliveryError,
    Delivery,
    WebhookResult,
    read_shopify_delivery,
    read_stripe_delivery,
    read_woocommerce_delivery,
    receive_delivery,
)
from soloist.errors import SoloistError
from soloist.storage.database import Database
from soloist.storage.retry import run_in_transaction

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

MAX_BODY_BYTES = 1024 * 1024  # an event is a few kB; a large Shopify order some 200 kB
RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "model": ErrorPublic,
        "description": "The signature is missing, malformed, wrong or stale.",
    },
    413: {"model": ErrorPublic, "description": "The body is larger than 1 MiB; nothing was read."},
    422: {
        "model": ErrorPublic,
        "description": "A signed delivery without an event id, or whose body is not a JSON "
        "object; nothing was written.",
    },
    503: {"model": ErrorPublic, "description": "This provider's webhook secret is not set."},
}


class WebhookTooLargeError(SoloistError):
    """A delivery larger than :data:`MAX_BODY_BYTES`: refused before its signature is checked."""

    code = "webhook_payload_too_large"
    http_status = 413


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body (the bytes the signature covers), refused past ``limit`` bytes without
    reading on."""
    too_large = WebhookTooLargeError(
        f"The delivery is larger than {limit} bytes; no provider's event is.", limit=limit
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookReceipt(BaseModel):
    """What a delivery did: ``outcome`` in words (``order stripe:pi_… created``,
    ``ignored: …``); ``duplicate`` when the event was handled before and nothing changed now."""

    provider: str
    event_id: str | None
    event_type: str
    outcome: str
    duplicate: bool

    @classmethod
    def of(cls, result: WebhookResult) -> WebhookReceipt:
        return cls(
            provider=result.provider,
            event_id=result.event_id,
            event_type=result.event_type,
            outcome=result.outcome,
            duplicate=result.duplicate,
        )


def receive_once(database: Database, delivery: Delivery, currency: str) -> WebhookReceipt:
    """One transaction for the delivery; once more if a concurrent one won the race, and again
    from the start if the database rolled it back as a deadlock's victim."""

    def work(session: Session) -> WebhookReceipt:
        return WebhookReceipt.of(receive_delivery(session, delivery, currency=currency))

    try:
        return run_in_transaction(database, work)
    except ConcurrentDeliveryError:
        return run_in_transaction(database, work)


async def _deliver(request: Request, read: Callable[[Settings, bytes], Delivery]) -> WebhookReceipt:
    body = await read_body(request)
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    delivery = read(settings, body)
    async with write_turn(request.app):  # a burst queues in the event loop (see soloist.api.deps)
        return await run_in_threadpool(receive_once, database, delivery, settings.currency)


@router.post("/stripe", response_model=WebhookReceipt, responses=RESPONSES)
async def post_stripe_webhook(request: Request) -> WebhookReceipt:
    """A Stripe event, signed with ``Stripe-Signature``: ``checkout.session.completed``
    records the order, ``charge.refunded`` its refunds, ``customer.subscription.*`` the
    customer's subscription."""
    return await _deliver(
        request,
        lambda settings, body: read_stripe_delivery(
            body, request.headers, settings.stripe_webhook_secret
        ),
    )


@router.post("/shopify", response_model=WebhookReceipt, responses=RESPONSES)
async def post_shopify_webhook(request: Request) -> WebhookReceipt:
    """A Shopify event, signed with ``X-Shopify-Hmac-Sha256``: ``orders/create`` and
    ``orders/updated`` bring the order to Shopify's, ``refunds/create`` records a refund."""
    return await _deliver(
        request,
        lambda settings, body: read_shopify_delivery(
            body, request.headers, settings.shopify_webhook_secret
        ),
    )


@router.post("/woocommerce", response_model=WebhookReceipt, responses=RESPONSES)
async def post_woocommerce_webhook(request: Request) -> WebhookReceipt:
    """A WooCommerce event, signed with ``X-WC-Webhook-Signature``: ``order.created`` and
    ``order.updated`` bring the order to the shop's (the ping sent on saving a webhook is
    answered and writes nothing)."""
    return await _deliver(
        request,
        lambda settings, body: read_woocommerce_delivery(
            body, request.headers, settings.woocommerce_webhook_secret
        ),
    )
