"""From records of text to typed, checked rows — the same for every format.

:func:`clean_table` types every value (dates, amounts in integer minor units, counts, countries,
statuses), names every bad cell by row and column, and measures the data's quality: missing
values per column, duplicate rows, negative, zero and unusually large amounts, dates in the
future. It never touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import polars as pl
from babel.numbers import list_currencies

from soloist.imports.base import ImportFormat, Record, RecordColumns
from soloist.imports.clean.orders import (
    LINE_SCHEMA,
    ORDER_SCHEMA,
    OrderRules,
    amount_outliers,
    clean_orders,
)
from soloist.imports.columns import text_column
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import header_key
from soloist.imports.values import (
    INTERVAL_SYNONYMS,
    SUBSCRIPTION_SYNONYMS,
    normalise_text,
    parse_amount,
    parse_choice,
    parse_country,
    parse_date,
    parse_datetime,
    parse_int,
    round_to,
)
from soloist.money import precision

T = TypeVar("T")
CHANNELS = {
    "email": ("email", "e-mail", "mail", "邮件", "电子邮件"),
    "call": ("call", "phone", "phone call", "telephone", "电话", "通话", "来电"),
    "meeting": ("meeting", "visit", "会议", "面谈", "拜访", "见面"),
    "chat": ("chat", "wechat", "whatsapp", "im", "live chat", "微信", "聊天", "在线客服"),
    "social": ("social", "twitter", "facebook", "instagram", "weibo", "微博", "社交"),
    "note": ("note", "memo", "备注", "笔记"),
}
CHANNEL_SYNONYMS = {w.replace(" ", "_"): c for c, words in CHANNELS.items() for w in words}
DIRECTIONS = {
    "inbound": ("inbound", "in", "incoming", "received", "收到", "呼入", "来信"),
    "outbound": ("outbound", "out", "outgoing", "sent", "发出", "呼出", "回访"),
    "internal": ("internal", "内部"),
}
DIRECTION_SYNONYMS = {w: d for d, words in DIRECTIONS.items() for w in words}
SURVEY_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}


@dataclass
class CleanOptions:
    dayfirst: bool = False
    timezone: str = "UTC"
    currency: str = "USD"  # when neither the file nor its format names one
    currency_given: bool = False  # --currency was passed: it beats the format's default


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
    key: str
    row: int
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    company: str | None = None
    country: str | None = None
    address: str | None = None
    birthday: dt.date | None = None
    notes: str | None = None
    tags: list[str] | None = None
    language: str | None = None
    first_seen: dt.datetime | None = None

    def details(self) -> dict[str, Any]:
        """The fields the file gives, beyond the keys."""
        names = ("name", "company", "country", "address", "birthday", "notes", "language")
        return {n: getattr(self, n) for n in names if getattr(self, n) not in (None, "")}


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
        self.errors.append(Issue(row, column, message, reason))
        self.invalid_rows.add(row)

    @property
    def invalid_by_reason(self) -> dict[str, int]:
        return dict(Counter(issue.reason for issue in self.errors))


class _Row:
    """Typed access to one record's cells; every failure becomes an Issue naming the column."""

    def __init__(self, record: Record, columns: Mapping[str, str], out: Cleaned) -> None:
        self.record, self.columns, self.out = record, columns, out
        self.ok = True

    def text(self, name: str) -> str | None:
        value = self.record.values.get(name)
        if not value:
            return None
        if value.isascii():
            return " ".join(value.split()) or None
        return normalise_text(value) or None

    def typed(self, name: str, parse: Callable[[str], T], reason: str) -> T | None:
        raw = self.record.values.get(name, "").strip()
        if not raw:
            return None
        try:
            return parse(raw)
        except (ValueError, ArithmeticError) as exc:
            self.fail(name, str(exc), reason)
            return None

    def need(self, name: str, value: T | None, what: str) -> T | None:
        if value is None and self.record.values.get(name, "").strip() == "":
            self.fail(name, f"{what} is missing", f"missing {what}")
        return value

    def fail(self, name: str | None, message: str, reason: str) -> None:
        column = self.columns.get(name) if name else None
        self.out.add_error(self.record.row, column or name, message, reason)
        self.ok = False


def _missing_and_duplicates(table: RawTable, out: Cleaned) -> None:
    if table.frame is not None:
        frame = table.frame
        out.duplicate_rows = frame.height - frame.n_unique() if frame.height else 0
        counts = [int((table.stripped_series(i) == "").sum()) for i in range(frame.width)]
        out.missing_values = {
            name or f"column{i + 1}": n
            for i, (name, n) in enumerate(zip(table.header, counts, strict=True))
            if n
        }
        return
    blanks = [0] * len(table.header)
    seen: set[tuple[str, ...]] = set()
    for row in table.rows:
        key = tuple(row)
        if key in seen:
            out.duplicate_rows += 1
        else:
            seen.add(key)
        for index, cell in enumerate(row[: len(blanks)]):
            if not cell.strip():
                blanks[index] += 1
    out.missing_values = {
        name or f"column{i + 1}": n
        for i, (name, n) in enumerate(zip(table.header, blanks, strict=True))
        if n
    }


def _currency(row: _Row, options: CleanOptions, fmt: ImportFormat) -> str | None:
    code = row.text("currency")
    if code is None:
        if options.currency_given or fmt.default_currency is None:
            return options.currency
        return fmt.default_currency
    code = code.upper()
    if code not in _CURRENCIES:
        row.fail(
            "currency",
            f"unknown currency {code!r} (use an ISO 4217 code such as USD)",
            "unknown currency",
        )
        return None
    return code


_CURRENCIES = frozenset(list_currencies())


def _minor(
    row: _Row, out: Cleaned, name: str, amount: Decimal | None, currency: str, derived: bool = False
) -> int | None:
    if amount is None:
        return None
    minor, rounded = round_to(amount, precision(currency))
    if rounded and not derived:
        out.rounded_amounts += 1
    if abs(minor) >= 10**15:
        row.fail(name, f"amount {amount} is too large", "amount too large")
        return None
    return minor


def _when(row: _Row, name: str, options: CleanOptions) -> dt.datetime | None:
    tz = row.record.values.get("timezone") or options.timezone
    return row.typed(
        name, lambda t: parse_datetime(t, dayfirst=options.dayfirst, tz=tz), "bad date"
    )


def _identity(
    fmt: ImportFormat, text: Callable[[str], str | None]
) -> tuple[str | None, str | None, str | None] | None:
    """(key, external id, name) of a row's customer — key None when the row names nobody;
    None when the customer id is too long."""
    external = text("customer_id")
    email = text("email")
    phone = text("phone")
    name = text("name")
    first, last = text("first_name"), text("last_name")
    if not name and (first or last):
        name = " ".join(part for part in (first, last) if part)
    if external and len(external) > 100:
        return None
    external_id = f"{fmt.source}:{external}" if external else None
    if external_id:
        key = external_id
    elif email:
        key = "email:" + email.lower()
    elif phone:
        key = "phone:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    elif name:
        key = f"{fmt.source}:name:{name.lower()}"[:128]
        external_id = key
    else:
        return None, None, None
    return key, external_id, name


def _register(
    out: Cleaned,
    key: str,
    row: int,
    external_id: str | None,
    text: Callable[[str], str | None],
    name: str | None,
    unknown_weight: int = 1,
) -> None:
    """Collect the row's customer in ``out.customers``: the first value given for each field."""
    country = None
    country_text = text("country")
    if country_text:
        try:
            country = parse_country(country_text)
        except ValueError:
            out.unknown_countries[country_text] += unknown_weight
    ref = out.customers.get(key)
    if ref is None:
        ref = out.customers[key] = CustomerRef(key=key, row=row, external_id=external_id)
    ref.email = ref.email or text("email")
    ref.phone = ref.phone or text("phone")
    ref.name = ref.name or (name[:200] if name else None)
    ref.company = ref.company or (text("company") or "")[:200] or None
    ref.country = ref.country or country


def _customer(row: _Row, fmt: ImportFormat, options: CleanOptions, out: Cleaned) -> str | None:
    """The key of this row's customer (collected in ``out.customers``); None when unknown."""
    identity = _identity(fmt, row.text)
    if identity is None:
        row.fail("customer_id", "customer id longer than 100 characters", "bad customer id")
        return None
    key, external_id, name = identity
    if key is None:
        return None
    _register(out, key, row.record.row, external_id, row.text, name)
    return key


_IDENTITY_FIELDS = (
    "customer_id",
    "email",
    "phone",
    "name",
    "first_name",
    "last_name",
    "company",
    "country",
)


def _text(value: str | None) -> str | None:
    """``_Row.text`` of one cell."""
    if not value:
        return None
    if value.isascii():
        return " ".join(value.split()) or None
    return normalise_text(value) or None


def _customer_keys(
    fmt: ImportFormat, columns: RecordColumns, names: Mapping[str, str], out: Cleaned
) -> pl.DataFrame:
    """:func:`_customer` for every record: ``key`` (null: names nobody) and
    ``customer_failed``, collecting the customers in ``out.customers``.

    Records with the same identifying cells get the same answer, and a record identical to an
    earlier one cannot change the collected customer, so each distinct combination is worked
    out once, in the order of its first record (the same result as record by record)."""
    frame = columns.frame
    present = [name for name in _IDENTITY_FIELDS if name in frame.columns]
    if not present:
        return pl.DataFrame(
            {
                "key": pl.repeat(None, frame.height, dtype=pl.String, eager=True),
                "customer_failed": pl.repeat(False, frame.height, eager=True),
            }
        )
    texts = pl.DataFrame([text_column(frame, name, _text) for name in present])
    combos = (
        texts.with_row_index("_first")
        .group_by(present, maintain_order=True)
        .agg(pl.col("_first").first(), pl.len().alias("_weight"))
    )
    rows = frame["row"]
    weighted = "country" in present
    answers: list[tuple[str | None, bool]] = []
    for values in combos.iter_rows():
        cells = dict(zip(present, values, strict=False))
        identity = _identity(fmt, cells.get)
        if identity is None:
            answers.append((None, True))
            continue
        key, external_id, name = identity
        answers.append((key, False))
        if key is not None:
            weight = values[-1] if weighted else 1
            _register(out, key, rows[values[-2]], external_id, cells.get, name, weight)
    mapping = combos.select(present).hstack(
        pl.DataFrame(
            answers, schema={"key": pl.String, "customer_failed": pl.Boolean}, orient="row"
        )
    )
    keys = texts.join(mapping, on=present, how="left", nulls_equal=True, maintain_order="left")
    failed = frame.filter(keys["customer_failed"])
    column = names.get("customer_id") or "customer_id"
    for row in failed["row"]:
        out.add_error(row, column, "customer id longer than 100 characters", "bad customer id")
    return keys.select("key", "customer_failed")


def _order_rows(
    fmt: ImportFormat,
    columns: RecordColumns,
    names: Mapping[str, str],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """Orders and their lines (:mod:`soloist.imports.clean.orders`), with the problems and
    quality measures added to ``out``."""
    customers = _customer_keys(fmt, columns, names, out)
    if options.currency_given or fmt.default_currency is None:
        default_currency = options.currency
    else:
        default_currency = fmt.default_currency
    rules = OrderRules(
        fmt=fmt,
        names=names,
        dayfirst=options.dayfirst,
        timezone=options.timezone,
        default_currency=default_currency,
        currencies=_CURRENCIES,
        precision=precision,
        text=_text,
    )
    done = clean_orders(columns, customers, rules)
    for row, column, message, reason in done.errors.iter_rows():
        out.add_error(row, column, message, reason)
    out.skipped.update(done.skipped)
    out.rounded_amounts += done.rounded_amounts
    for key, first in done.first_seen.items():
        ref = out.customers[key]
        if ref.first_seen is None or first < ref.first_seen:
            ref.first_seen = first
    out.orders, out.order_lines = done.orders, done.lines
    out.outliers = amount_outliers(done.amounts)


def _kept_rows(
    records: Iterable[Record], columns: Mapping[str, str], out: Cleaned
) -> Iterator[_Row]:
    """The rows to clean; rows a format marked to skip are only counted, by reason."""
    for record in records:
        row = _Row(record, columns, out)
        if record.skip:
            out.skipped[record.skip] += 1
            continue
        yield row


def _customer_rows(
    fmt: ImportFormat,
    records: Iterable[Record],
    columns: Mapping[str, str],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    for row in _kept_rows(records, columns, out):
        key = _customer(row, fmt, options, out)
        birthday = row.typed(
            "birthday", lambda t: parse_date(t, dayfirst=options.dayfirst), "bad date"
        )
        created = _when(row, "created_at", options)
        if key is None:
            if row.ok:
                row.fail(None, "no name, e-mail, phone or customer id", "no customer")
            continue
        ref = out.customers[key]
        ref.address = ref.address or row.text("address")
        ref.birthday = ref.birthday or birthday
        ref.notes = ref.notes or row.text("notes")
        ref.language = ref.language or (row.text("language") or "")[:16] or None
        tags = row.text("tags")
        if tags:
            parts = [
                t.strip().lower() for t in tags.replace("，", ",").replace(";", ",").split(",")
            ]
            ref.tags = sorted({*(ref.tags or []), *(t[:64] for t in parts if t)})
        if created is not None and (ref.first_seen is None or created < ref.first_seen):
            ref.first_seen = created


def _subscription_rows(
    fmt: ImportFormat,
    records: Iterable[Record],
    columns: Mapping[str, str],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    seen: Counter[str] = Counter()
    for row in _kept_rows(records, columns, out):
        customer = _customer(row, fmt, options, out)
        if customer is None and row.ok:
            row.fail("customer_id", "no customer id, e-mail, phone or name", "no customer")
        plan = row.need("plan", row.text("plan"), "plan")
        price = row.need("price", row.typed("price", parse_amount, "bad amount"), "price")
        quantity = row.typed("quantity", parse_int, "bad quantity")
        currency = _currency(row, options, fmt)
        interval = row.typed(
            "interval", lambda t: parse_choice(t, INTERVAL_SYNONYMS, "interval"), "unknown interval"
        )
        status = row.typed(
            "status", lambda t: parse_choice(t, SUBSCRIPTION_SYNONYMS, "status"), "unknown status"
        )
        started = row.need("started_at", _when(row, "started_at", options), "start date")
        cancelled = _when(row, "cancelled_at", options)
        if not row.ok or None in (customer, plan, price, currency, started):
            continue
        assert customer is not None
        assert plan is not None
        assert price is not None
        assert currency is not None
        assert started is not None
        price_minor = _minor(row, out, "price", price * (quantity or 1), currency)
        if price_minor is None:
            continue
        source_id = row.text("subscription_id")
        if source_id:
            external = f"{fmt.source}:{source_id}"
        else:
            base = f"{customer}:{plan}:{started:%Y%m%d}"
            seen[base] += 1
            external = f"{base}:{seen[base]}"
        if status is None:
            status = "cancelled" if cancelled else "active"
        out.subscriptions.append(
            SubscriptionDraft(
                external_id=external[:128],
                row=row.record.row,
                customer=customer,
                plan=plan[:100],
                price_minor=price_minor,
                currency=currency,
                interval=interval or "month",
                status=status,
                started_at=started,
                cancelled_at=cancelled if status == "cancelled" or cancelled else None,
                cancel_reason=(row.text("cancel_reason") or "")[:255] or None,
            )
        )


def _interaction_rows(
    fmt: ImportFormat,
    records: Iterable[Record],
    columns: Mapping[str, str],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    for row in _kept_rows(records, columns, out):
        customer = _customer(row, fmt, options, out)
        if customer is None and row.ok:
            row.fail("customer_id", "no customer id, e-mail, phone or name", "no customer")
        channel = row.need(
            "channel",
            row.typed(
                "channel", lambda t: parse_choice(t, CHANNEL_SYNONYMS, "channel"), "unknown channel"
            ),
            "channel",
        )
        direction = row.typed(
            "direction",
            lambda t: parse_choice(t, DIRECTION_SYNONYMS, "direction"),
            "unknown direction",
        )
        occurred = row.need("occurred_at", _when(row, "occurred_at", options), "date")
        if not row.ok or customer is None or channel is None or occurred is None:
            continue
        out.interactions.append(
            InteractionDraft(
                row=row.record.row,
                customer=customer,
                channel=channel,
                direction=direction or ("internal" if channel == "note" else "outbound"),
                subject=(row.text("subject") or "")[:255] or None,
                body=row.record.values.get("body", "").strip() or None,
                occurred_at=occurred,
            )
        )


def _feedback_rows(
    fmt: ImportFormat,
    records: Iterable[Record],
    columns: Mapping[str, str],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    score_column = header_key(columns.get("score", ""))
    for row in _kept_rows(records, columns, out):
        customer = _customer(row, fmt, options, out)
        if customer is None and row.ok:
            row.fail("customer_id", "no customer id, e-mail, phone or name", "no customer")
        rating = row.typed("rating", parse_int, "bad score")
        score = row.typed("score", parse_int, "bad score")
        at = row.need("responded_at", _when(row, "responded_at", options), "date")
        kind = (row.text("survey") or "").lower() or (
            score_column if score_column in SURVEY_SCALES else ""
        )
        if rating is not None:
            kind, score = "review", rating
            low, high = 1, 5
        elif kind in SURVEY_SCALES:
            low, high = SURVEY_SCALES[kind]
            if score is None and row.ok:
                row.fail("score", "score is missing", "missing score")
        else:
            if row.ok:
                row.fail(
                    "survey",
                    f"unknown survey {kind or '(none)'!r}: use csat, nps or ces, "
                    "or give a rating column for reviews",
                    "unknown survey",
                )
            continue
        if score is not None and not low <= score <= high:
            name = "rating" if kind == "review" else "score"
            row.fail(
                name,
                f"a {kind.upper()} score must be {low} to {high}, got {score}",
                "score out of range",
            )
        if not row.ok or customer is None or score is None or at is None:
            continue
        out.feedback.append(
            FeedbackDraft(
                row=row.record.row,
                customer=customer,
                kind=kind,
                score=score,
                title=(row.text("title") or "")[:255] or None,
                comment=row.record.values.get("comment", "").strip() or None,
                language=(row.text("language") or "")[:16] or None,
                at=at,
                source=(row.text("source") or "")[:32] or None,
            )
        )


_CLEANERS = {
    "customers": _customer_rows,
    "subscriptions": _subscription_rows,
    "interactions": _interaction_rows,
    "feedback": _feedback_rows,
}


def clean_table(
    table: RawTable, fmt: ImportFormat, kind: str, mapping: Mapping[str, int], options: CleanOptions
) -> Cleaned:
    """Typed rows, issues and quality measures of ``table`` read as ``kind`` through ``fmt``."""
    out = Cleaned(kind=kind, rows_read=len(table.rows))
    _missing_and_duplicates(table, out)
    columns = {name: table.header[index] for name, index in mapping.items()}
    if kind == "orders":
        _order_rows(fmt, fmt.record_columns(table, kind, mapping), columns, options, out)
    else:
        _CLEANERS[kind](fmt, fmt.records(table, kind, mapping), columns, options, out)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    dates = [s.started_at for s in out.subscriptions]
    dates += [i.occurred_at for i in out.interactions] + [f.at for f in out.feedback]
    future = sum(1 for moment in dates if moment > now)
    future += out.orders.filter(pl.col("ordered_at") > now).height
    if future:
        out.outliers["future_dates"] = future
    return out
