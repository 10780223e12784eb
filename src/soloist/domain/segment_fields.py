"""The fields a segment rule may name (``clv_12m > 100 and tag = "vip"``), with their kinds and
meanings: plain data, so that the command line can list them in its help without loading the
rule engine and the database layer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """A name the rules may use: its kind (number, text, tag) and what it means."""

    kind: str
    help: str


FIELDS: dict[str, Field] = {
    "clv_12m": Field("number", "predicted 12-month value (workspace currency)"),
    "churn_risk": Field("number", "probability of no purchase in the churn horizon, 0–1"),
    "p_alive": Field("number", "BG/NBD probability of still being a customer, 0–1"),
    "next_purchase_days": Field("number", "median days to the next purchase if active"),
    "expected_purchases_90d": Field("number", "expected purchases in the next 90 days"),
    "segment": Field("text", 'RFM segment, e.g. "champions", "at risk"'),
    "cluster": Field("number", "behaviour cluster number"),
    "orders": Field("number", "number of paid orders"),
    "revenue": Field("number", "total of paid orders (workspace currency)"),
    "days_since_last_order": Field("number", "days since the last paid order"),
    "tag": Field("tag", "the customer has this tag"),
    "country": Field("text", "two-letter country code"),
    "source": Field("text", "where the customer came from"),
    "language": Field("text", "preferred language"),
}
