"""Facts that storage, the domain and the import cleaners share: the survey scales and the widths
of the text columns an import fills.

A neutral module, like :mod:`soloist.money`: storage and the import cleaners are sibling bottom
layers that may not import each other, so what both must agree on lives here, and this module
imports nothing of Soloist.
"""

from __future__ import annotations

from typing import Final

# Survey kind -> (lowest, highest) score.
SURVEY_SCALES: Final[dict[str, tuple[int, int]]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}

# "table.column" -> characters its String(n) holds; an import clips longer text to fit. An
# encrypted column (a name, a subject) holds any length; its limit here is the product's own.
# tests/imports/test_vocabulary.py checks each against the model.
WIDTHS: Final[dict[str, int]] = {
    "customers.external_id": 128,
    "customers.name": 200,
    "customers.company": 200,
    "customers.country": 2,  # an ISO 3166 code, as imports read a country
    "customers.language": 16,
    "customers.source": 50,
    "customer_tags.tag": 64,
    "orders.external_id": 128,
    "orders.channel": 32,
    "orders.source": 32,
    "order_lines.sku": 64,
    "order_lines.description": 255,
    "products.name": 255,
    "subscriptions.external_id": 128,
    "subscriptions.plan": 100,
    "subscriptions.cancel_reason": 255,
    "interactions.subject": 255,
    "survey_responses.language": 16,
    "survey_responses.external_id": 128,
    "reviews.title": 255,
    "reviews.language": 16,
    "reviews.source": 32,
    "reviews.external_id": 128,
    "import_batches.filename": 255,
}


def clipped(text: str | None, column: str) -> str | None:
    """``text`` cut to the width of ``column`` ("table.column"); None when blank."""
    return (text or "")[: WIDTHS[column]] or None
