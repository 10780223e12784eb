"""What cleaning hands the domain: the typed rows of one file (drafts), its problems and its
quality measures. Plain data; the cleaners fill it, :mod:`soloist.domain.imports` writes it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from soloist.imports.columns import UTC_TIME

MAX_MESSAGE = 300  # characters of one problem's message

ORDER_SCHEMA = pl.Schema(
    {
        "external_id": pl.String(),
        "row": pl.Int64(),
        "customer": pl.String(),  # CustomerRef.key
        "ordered_at": UTC_TIME,
        "status": pl.String(),
        "currency": pl.String(),
        "total_minor": pl.Int64(),
        "discount_minor": pl.Int64(),
        "refunded_minor": pl.Int64(),  # given back so far (all of the total when refunded)
        "channel": pl.String(),
    }
)
LINE_SCHEMA = pl.Schema(
    {
        "external_id": pl.String(),  # the order's
        "line_no": pl.Int64(),
        "sku": pl.String(),
        "description": pl.String(),
        "quantity": pl.Int64(),
        "unit_price_minor": pl.Int64(),
        "amount_minor": pl.Int64(),
    }
)


@dataclass
class CleanOptions:
    dayfirst: bool = False
    timezone: str = "UTC"
    currency: str = "USD"  # when neither the file nor its format names one
    currency_given: bool = False  # --currency was passed: it beats the format's default
    # Columns the user mapped or left out by name (--map): a choice between two columns that
    # mean one field is then made.
    chosen_columns: frozenset[str] = frozenset()


@dataclass
class Issue:
    row: int | None
    column: str | None
    message: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class CustomerRef:
    """One customer of the file: the keys that find them, and the details the file gives
    (``details``: the fields of :data:`~soloist.imports.synonyms.CUSTOMER_DETAILS`, typed, only
    those given — the first value given for each)."""

    key: str
    row: int
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] | None = None
    first_seen: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def fill(self, name: str, value: Any) -> None:
        """Keep ``value`` for the detail ``name`` unless an earlier row gave one."""
        if value not in (None, "") and self.details.get(name) in (None, ""):
            self.details[name] = value


@dataclass
class SubscriptionDraft:
    external_id: str
    row: int
    customer: str
    plan: str
    price_minor: int
    currency: str
    interval: str
    status: str
    started_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancel_reason: str | None


@dataclass
class InteractionDraft:
    row: int
    customer: str
    channel: str
    direction: str
    subject: str | None
    body: str | None
    occurred_at: dt.datetime


@dataclass
class FeedbackDraft:
    row: int
    customer: str
    kind: str  # csat | nps | ces | review
    score: int
    title: str | None
    comment: str | None
    language: str | None
    at: dt.datetime
    source: str | None
    external_id: str | None = None  # the file's own id of the answer or review
    order: str | None = None  # the order number it is about, as the file gives it


@dataclass
class Cleaned:
    """The typed rows of one file, the problems found and the quality measures."""

    kind: str
    rows_read: int = 0
    customers: dict[str, CustomerRef] = field(default_factory=dict)
    orders: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ORDER_SCHEMA))
    order_lines: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LINE_SCHEMA))
    subscriptions: list[SubscriptionDraft] = field(default_factory=list)
    interactions: list[InteractionDraft] = field(default_factory=list)
    feedback: list[FeedbackDraft] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    invalid_rows: set[int] = field(default_factory=set)
    bad_customers: set[str] = field(default_factory=set)
    skipped: Counter[str] = field(default_factory=Counter)
    missing_values: dict[str, int] = field(default_factory=dict)
    duplicate_rows: int = 0
    outliers: dict[str, Any] = field(default_factory=dict)
    rounded_amounts: int = 0
    unknown_countries: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def add_error(self, row: int, column: str | None, message: str, reason: str) -> None:
        if len(message) > MAX_MESSAGE:  # it quotes a cell, which may be huge
            message = f"{message[: MAX_MESSAGE - 40]}… ({len(message):,} characters)"
        self.errors.append(Issue(row, column, message, reason))
        self.invalid_rows.add(row)

    @property
    def invalid_by_reason(self) -> dict[str, int]:
        return dict(Counter(issue.reason for issue in self.errors))
