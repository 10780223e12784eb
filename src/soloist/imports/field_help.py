"""What each field of each import kind means, for ``soloist import fields`` and docs/import.md.

The fields themselves, and the column names that mean them, are :data:`synonyms.FIELDS`; this
says in a line what each one holds. :func:`fields_markdown` writes the tables docs/import.md
shows (a test checks that the page holds them as written here, so the page lists every field).
"""

from __future__ import annotations

from soloist.imports.synonyms import FIELDS, KINDS, PREFERRED

# Field -> what it holds (the same for every kind that has it, unless _BY_KIND says otherwise).
_HELP: dict[str, str] = {
    "customer_id": "the customer's id in the source system; kept as their external id "
    "(`shopify:123`), the surest way to find them again",
    "name": "full name",
    "first_name": "first name (with the last name, the name when there is no full name)",
    "last_name": "last name",
    "email": "e-mail address; trimmed and lower-cased, finds the customer again",
    "phone": "phone number, stored as E.164; one without +country is read in the workspace's "
    "country, or China's for a GBK or Chinese-headed file (`--region` says another)",
    "company": "company",
    "country": "country: an ISO code or a name in English or Chinese",
    "address": "postal address",
    "birthday": "birthday (a date)",
    "notes": "notes about the customer",
    "tags": "tags, separated by commas or semicolons",
    "language": "language tag (en, zh-CN, pt-BR …)",
    "created_at": "when the customer signed up (their first-seen time)",
    "order_id": "the order's number; rows with one number are one order (its lines), and the "
    "number with the format's prefix is the key of idempotent imports",
    "ordered_at": "when the order was placed",
    "status": "paid, refunded, cancelled, pending or failed (or a word for one, such as "
    "delivered or 交易成功; others with `--map-value`); blank: paid",
    "currency": "ISO 4217 code; blank: the format's or the workspace's currency",
    "total": "what the customer paid for the order; blank: the sum of its lines",
    "discount": "the order's discount",
    "refunded": "the amount given back: all of the total makes the order refunded; less keeps "
    "it paid, with the refunded amount beside it",
    "sku": "product code of a line (a new code becomes a product)",
    "description": "product name of a line",
    "quantity": "units of a line (default 1; negative: a return)",
    "unit_price": "price of one unit of a line",
    "line_amount": "amount of a line (quantity × unit price when blank)",
    "channel": "sales channel (web, pos, marketplace …), as text",
    "cancelled_at": "when the order was cancelled (a time here makes a Shopify order cancelled)",
    "subscription_id": "the subscription's id, the key of idempotent imports",
    "plan": "plan or product name",
    "price": "price per billing interval (times the quantity)",
    "interval": "billing interval: week, month, quarter or year (default month)",
    "started_at": "when the subscription started",
    "cancel_reason": "why it was cancelled",
    "tenure": "months subscribed as of the snapshot's day (`--as-of`), in place of a start "
    "date: the start is that day less the tenure",
    "churned": "whether the subscriber left (yes/no, 1/0, true/false), in place of a status: "
    "yes is cancelled in the month before the snapshot's day, no is active",
    "direction": "inbound, outbound or internal (blank: internal for a note, else outbound)",
    "subject": "subject or title",
    "body": "text of the conversation",
    "occurred_at": "when it happened",
    "feedback_id": "the answer's or review's own id: keeps each one distinct, the key of "
    "idempotent imports",
    "survey": "csat, nps or ces (a score column named so says it too)",
    "score": "survey score on its scale: CSAT 1–5, NPS 0–10, CES 1–7",
    "rating": "review stars, 1–5 (makes the row a review)",
    "title": "review title",
    "comment": "the answer's comment or the review's text",
    "responded_at": "when the customer answered or wrote the review",
    "source": "where a review was published (default: the format's name)",
}
_BY_KIND: dict[tuple[str, str], str] = {
    ("subscriptions", "quantity"): "seats or units (default 1)",
    ("subscriptions", "status"): "active, trialing, past_due, paused or cancelled (blank: "
    "cancelled when there is a cancellation time, else active)",
    ("subscriptions", "cancelled_at"): "when the subscription was cancelled or ended",
    ("interactions", "channel"): "email, call, meeting, chat, social or note (or a word for one: "
    "WeChat, 电话 …)",
    ("feedback", "order_id"): "the order it is about, linked when the workspace has that order",
    ("customers", "language"): "the customer's language tag (en, zh-CN …)",
}
_REQUIRED_NOTE = {
    "customers": "an id, e-mail, phone or name",
    "orders": "a customer field, `ordered_at`, and `total` or the lines' prices",
    "subscriptions": "a customer field, `plan`, `price`, and `started_at` or `tenure`",
    "interactions": "a customer field, `channel` and `occurred_at`",
    "feedback": "a customer field, `score` or `rating`, and `responded_at`",
}


def describe(kind: str, name: str) -> str:
    """What field ``name`` of ``kind`` holds."""
    return _BY_KIND.get((kind, name)) or _HELP[name]


def examples(kind: str, name: str, count: int = 3) -> list[str]:
    """A few column names that mean the field: English first, then Chinese."""
    names = FIELDS[kind][name]
    latin = [n for n in names if n.isascii()][:count]
    chinese = [n for n in names if not n.isascii()][:2]
    return latin + chinese


def fields_of(kind: str) -> list[tuple[str, str, list[str]]]:
    """(field, what it holds, column names that mean it) of every field of ``kind``."""
    return [(name, describe(kind, name), examples(kind, name)) for name in FIELDS[kind]]


def required(kind: str) -> str:
    return _REQUIRED_NOTE[kind]


def fields_markdown() -> str:
    """The tables of every kind's fields, as docs/import.md shows them."""
    parts: list[str] = []
    for kind in KINDS:
        parts.append(f"**{kind}** (needs {required(kind)})\n")
        parts.append("| field | what it holds | column names, for example |")
        parts.append("| --- | --- | --- |")
        for name, text, names in fields_of(kind):
            shown = ", ".join(names)
            parts.append(f"| `{name}` | {text} | {shown} |")
        parts.append("")
    preferred = "; ".join(f"`{f}`: {', '.join(names)}" for f, names in PREFERRED.items())
    parts.append(
        "When a file has two columns for one field, it is refused until you say which to read "
        "(`--map COLUMN=field`), except where these names settle it, winning wherever they "
        f"stand: {preferred}."
    )
    return "\n".join(parts) + "\n"
