"""Webhooks of the platforms whose exports Soloist imports: Stripe, Shopify and WooCommerce.

``signatures`` checks each provider's documented signature; ``stripe``, ``shopify`` and
``woocommerce`` read a delivery and turn its event into the live-data use cases of
``domain.intake`` (and ``domain.subscriptions``); ``events`` remembers every event id in
``webhook_events`` so a replay changes nothing; ``receiving`` puts them together. The interfaces
import from here, never from the modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.webhooks.events import Delivery, WebhookResult
    from soloist.domain.webhooks.receiving import ConcurrentDeliveryError, receive_delivery
    from soloist.domain.webhooks.shopify import read_shopify_delivery
    from soloist.domain.webhooks.stripe import read_stripe_delivery
    from soloist.domain.webhooks.woocommerce import read_woocommerce_delivery

_MODULE_OF = {
    "ConcurrentDeliveryError": "receiving",
    "Delivery": "events",
    "WebhookResult": "events",
    "read_shopify_delivery": "shopify",
    "read_stripe_delivery": "stripe",
    "read_woocommerce_delivery": "woocommerce",
    "receive_delivery": "receiving",
}
__all__ = [
    "ConcurrentDeliveryError",
    "Delivery",
    "WebhookResult",
    "read_shopify_delivery",
    "read_stripe_delivery",
    "read_woocommerce_delivery",
    "receive_delivery",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
