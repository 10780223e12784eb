"""Live data: customers and orders arriving through the API and the shops' webhooks.

Each use case does in the caller's transaction all that the arrival implies: customers are
enrolled as the loyalty rules say, orders earn or give back their points at once, and the
customer's scores are worked out again from the stored fit. The interfaces import from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.intake.customers import CustomerRef, add_customer, customer_for
    from soloist.domain.intake.feedback import FeedbackIn, record_feedback
    from soloist.domain.intake.orders import (
        LineIn,
        OrderIn,
        ReceivedOrder,
        change_order_status,
        find_order,
        receive_order,
        refund_order,
        set_refunded_total,
    )

_MODULE_OF = {
    "CustomerRef": "customers",
    "FeedbackIn": "feedback",
    "LineIn": "orders",
    "OrderIn": "orders",
    "ReceivedOrder": "orders",
    "add_customer": "customers",
    "change_order_status": "orders",
    "customer_for": "customers",
    "find_order": "orders",
    "receive_order": "orders",
    "record_feedback": "feedback",
    "refund_order": "orders",
    "set_refunded_total": "orders",
}
__all__ = [
    "CustomerRef",
    "FeedbackIn",
    "LineIn",
    "OrderIn",
    "ReceivedOrder",
    "add_customer",
    "change_order_status",
    "customer_for",
    "find_order",
    "receive_order",
    "record_feedback",
    "refund_order",
    "set_refunded_total",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
