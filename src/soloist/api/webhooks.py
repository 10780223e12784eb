"""/api/v1/webhooks: deliveries from Stripe, Shopify and WooCommerce.

No API token here: each provider signs its deliveries and the signature, checked over the raw
body before anything is parsed, is the authentication. A bad or missing one answers 401 and
writes nothing; a provider whose secret is not set answers 503. Events already handled answer
200 with what was done the first time, and kinds Soloist does not use answer 200 ``ignored`` (the
providers retry anything but a 2xx).
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
from soloist.storage.database import Database
from soloist.storage.retry import run_in_transaction

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "The signature is missing, wrong or stale."},
    503: {"model": ErrorPublic, "description": "This provider's webhook secret is not set."},
}


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
    body = await request.body()  # the raw bytes the signature covers
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
