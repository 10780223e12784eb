"""From records of text to typed, checked rows — the same for every format.

:func:`clean_table` types every value (dates, amounts in integer minor units, counts, countries,
statuses), names every bad cell by row and column, and measures the data's quality: missing
values per column, duplicate rows, negative, zero and unusually large amounts, dates in the
future. It never touches the database.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from babel.numbers import get_currency_precision, list_currencies

from soloist.imports.base import ImportFormat, Record, RecordColumns
from soloist.imports.synonyms import header_key
from soloist.imports.table import RawTable
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
    parse_order_status,
    round_to,
)

T = TypeVar("T")
HUGE_FACTOR = 100  # an amount over 100 × the median is reported as an outlier
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


class LineDraft(NamedTuple):
    sku: str | None
    description: str | None
    quantity: int
    unit_price_minor: int
    amount_minor: int


@dataclass(slots=True)
class OrderDraft:
    external_id: str
    row: int
    customer: str  # CustomerRef.key
    ordered_at: dt.datetime
    status: str
    currency: str
    total_minor: int | None
    discount_minor: int
    channel: str | None
    lines: list[LineDraft] = field(default_factory=list)


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
    orders: list[OrderDraft] = field(default_factory=list)
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
        counts = [table.stripped(i).count("") for i in range(frame.width)]
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


@lru_cache(maxsize=256)
def _precision(currency: str) -> int:
    return int(get_currency_precision(currency))


def _minor(
    row: _Row, out: Cleaned, name: str, amount: Decimal | None, currency: str, derived: bool = False
) -> int | None:
    if amount is None:
        return None
    minor, rounded = round_to(amount, _precision(currency))
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
_BAD: Any = object()  # a cell that did not parse
# quantity, unit price and amount in minor units, amounts rounded, problems (field, message, reason)
_LineValues = tuple[int, int, int, int, tuple[tuple[str, str, str], ...]]


def _text(value: str | None) -> str | None:
    """``_Row.text`` of one cell."""
    if not value:
        return None
    if value.isascii():
        return " ".join(value.split()) or None
    return normalise_text(value) or None


def _text_column(values: Sequence[str | None] | None, count: int) -> list[str | None]:
    """``_Row.text`` of a whole column, each distinct cell worked out once."""
    if values is None:
        return [None] * count
    done = {value: _text(value) for value in set(values)}
    return [done[value] for value in values]


def _typed_column(
    values: Sequence[str | None] | None,
    count: int,
    parse: Callable[[Any], Any],
    zones: Sequence[str | None] | None = None,
    zone: str = "UTC",
) -> tuple[list[Any], dict[Any, str]]:
    """``_Row.typed`` of a whole column: each distinct cell parsed once by the same function.

    Returns the values (None for blank cells, ``_BAD`` for cells that do not parse) and the
    error message of each bad cell (keyed by its text, or text and timezone with ``zones``).
    """
    if values is None:
        return [None] * count, {}
    keys: Sequence[Any] = (
        values if zones is None else list(zip(values, (z or zone for z in zones), strict=True))
    )
    done: dict[Any, Any] = {}
    errors: dict[Any, str] = {}
    for key in set(keys):
        text, tz = (key, zone) if zones is None else key
        raw = (text or "").strip()
        if not raw:
            done[key] = None
            continue
        try:
            done[key] = parse(raw) if zones is None else parse((raw, tz))
        except (ValueError, ArithmeticError) as exc:
            done[key] = _BAD
            errors[key] = str(exc)
    return [done[key] for key in keys], errors


def _customer_column(
    fmt: ImportFormat, columns: RecordColumns, names: Mapping[str, str], out: Cleaned
) -> tuple[list[str | None], list[bool]]:
    """:func:`_customer` for every record: the customer keys, and which records failed.

    Records with the same identifying cells get the same answer, and a record identical to an
    earlier one cannot change the collected customer, so each distinct combination is worked
    out once, in the order of its first record (the same result as record by record)."""
    count = len(columns.skip)
    present = [name for name in _IDENTITY_FIELDS if name in columns.values]
    texts = [_text_column(columns.values[name], count) for name in present]
    combos: list[tuple[str | None, ...]] = list(zip(*texts, strict=True)) if texts else []
    if not combos:
        return [None] * count, [False] * count
    first: dict[tuple[str | None, ...], int] = {}
    for index, combo in enumerate(combos):
        if combo not in first:
            first[combo] = index
    weights = Counter(combos) if "country" in present else None
    answer: dict[tuple[str | None, ...], str | None] = {}
    failed_combos: set[tuple[str | None, ...]] = set()
    for combo, index in first.items():
        cells = dict(zip(present, combo, strict=True))
        identity = _identity(fmt, cells.get)
        if identity is None:
            failed_combos.add(combo)
            answer[combo] = None
            continue
        key, external_id, name = identity
        answer[combo] = key
        if key is not None:
            weight = weights[combo] if weights is not None else 1
            _register(out, key, columns.rows[index], external_id, cells.get, name, weight)
    keys = [answer[combo] for combo in combos]
    failed = [False] * count
    if failed_combos:
        column = names.get("customer_id") or "customer_id"
        for index, combo in enumerate(combos):
            if combo in failed_combos:
                failed[index] = True
                out.add_error(
                    columns.rows[index],
                    column,
                    "customer id longer than 100 characters",
                    "bad customer id",
                )
    return keys, failed


_LINE_FIELDS = ("sku", "description", "quantity", "unit_price", "line_amount")


def _order_rows(
    fmt: ImportFormat,
    columns: RecordColumns,
    names: Mapping[str, str],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """Orders and their lines from the records, read column by column.

    Every cell is typed by the same functions as before, once per distinct value of its column
    (:func:`_typed_column`); the loop below then only combines typed values, record by record in
    file order, and names each problem by row and column exactly as the per-row reading did."""
    count = len(columns.skip)
    values = columns.values
    rows = columns.rows
    keys, customer_failed = _customer_column(fmt, columns, names, out)
    dayfirst = options.dayfirst

    zones = values.get("timezone")
    date_cells = values.get("ordered_at")
    date_keys: Sequence[Any] = date_cells or []
    if zones is None:

        def when(text: str) -> dt.datetime:
            return parse_datetime(text, dayfirst=dayfirst, tz=options.timezone)

        dates, date_errors = _typed_column(date_cells, count, when)
    else:

        def zoned(item: tuple[str, str]) -> dt.datetime:
            return parse_datetime(item[0], dayfirst=dayfirst, tz=item[1])

        dates, date_errors = _typed_column(date_cells, count, zoned, zones, options.timezone)
        if date_cells is not None:
            date_keys = [(c, z or options.timezone) for c, z in zip(date_cells, zones, strict=True)]
    status_texts = _text_column(values.get("status"), count)
    statuses, status_errors = _typed_column(values.get("status"), count, parse_order_status)
    currency_texts = _text_column(values.get("currency"), count)
    quantities, quantity_errors = _typed_column(values.get("quantity"), count, parse_int)
    typed_amounts = {
        name: _typed_column(values.get(name), count, parse_amount)
        for name in ("unit_price", "line_amount", "total", "discount", "refunded")
    }
    units, unit_errors = typed_amounts["unit_price"]
    line_amounts, line_errors = typed_amounts["line_amount"]
    totals, total_errors = typed_amounts["total"]
    discounts, discount_errors = typed_amounts["discount"]
    refunds, refund_errors = typed_amounts["refunded"]
    synthetic = "order_id" not in names
    order_texts = _text_column(values.get("order_id"), count) if not synthetic else []
    skus = _text_column(values.get("sku"), count)
    descriptions = _text_column(values.get("description"), count)
    channels = _text_column(values.get("channel"), count)
    unit_cells = values.get("unit_price")
    has_line = [False] * count
    for name in _LINE_FIELDS:
        cells = values.get(name)
        if cells is not None:
            flags = {cell: bool(cell and cell.strip()) for cell in set(cells)}
            has_line = [a or flags[b] for a, b in zip(has_line, cells, strict=True)]
    if options.currency_given or fmt.default_currency is None:
        default_currency: str = options.currency
    else:
        default_currency = fmt.default_currency
    prefix = fmt.source + ":"
    full_ids: dict[str, str] = {}
    stamps: dict[dt.datetime, str] = {}
    minors: dict[tuple[Decimal, str], tuple[int, bool]] = {}
    orders: dict[str, OrderDraft] = {}
    occurrences: Counter[tuple[str, str]] = Counter()
    amounts: list[tuple[int, int]] = []  # (row, minor)
    line_memo: dict[tuple[Any, ...], _LineValues] = {}  # the same cells give the same line
    skipped = out.skipped
    customers = out.customers
    fail = out.add_error

    def column(name: str) -> str:
        return names.get(name) or name

    def minor(
        row: int, name: str, amount: Decimal, currency: str, derived: bool = False
    ) -> int | None:
        known = minors.get((amount, currency))
        if known is None:
            known = minors[(amount, currency)] = round_to(amount, _precision(currency))
        value, rounded = known
        if rounded and not derived:
            out.rounded_amounts += 1
        if abs(value) >= 10**15:
            fail(row, column(name), f"amount {amount} is too large", "amount too large")
            return None
        return value

    def cell(name: str, index: int) -> str | None:
        cells = values.get(name)
        return cells[index] if cells is not None else None

    for index in range(count):
        customer = keys[index]
        skip = columns.skip[index]
        ok = not customer_failed[index]
        if customer is None and skip is None and ok:
            skip = "no customer (needs an id, e-mail, phone or name)"
        if skip:
            skipped[skip] += 1
            continue
        row = rows[index]
        ordered_at = dates[index]
        if ordered_at is _BAD:
            fail(row, column("ordered_at"), date_errors[date_keys[index]], "bad date")
            ordered_at, ok = None, False
        elif ordered_at is None:
            fail(row, column("ordered_at"), "order date is missing", "missing order date")
            ok = False
        if status_texts[index]:
            status = statuses[index]
            if status is _BAD:
                message = status_errors[cell("status", index)]
                fail(row, column("status"), message, "unknown status")
                status, ok = None, False
        else:
            status = "paid"
        if status == "failed":
            skipped["failed payment"] += 1
            continue
        code = currency_texts[index]
        if code is None:
            currency: str | None = default_currency
        else:
            currency = code.upper()
            if currency not in _CURRENCIES:
                fail(
                    row,
                    column("currency"),
                    f"unknown currency {currency!r} (use an ISO 4217 code such as USD)",
                    "unknown currency",
                )
                currency, ok = None, False
        quantity = quantities[index]
        unit = units[index]
        line_amount = line_amounts[index]
        total = totals[index]
        discount = discounts[index]
        refunded = refunds[index]
        # identity, not ``in``: comparing a Decimal with the sentinel is an ABC check
        if (
            quantity is _BAD
            or unit is _BAD
            or line_amount is _BAD
            or total is _BAD
            or discount is _BAD
            or refunded is _BAD
        ):
            for name, value, errors, reason in (
                ("quantity", quantity, quantity_errors, "bad quantity"),
                ("unit_price", unit, unit_errors, "bad amount"),
                ("line_amount", line_amount, line_errors, "bad amount"),
                ("total", total, total_errors, "bad amount"),
                ("discount", discount, discount_errors, "bad amount"),
                ("refunded", refunded, refund_errors, "bad amount"),
            ):
                if value is _BAD:
                    fail(row, column(name), errors[cell(name, index)], reason)
                    ok = False
        if not ok or customer is None or ordered_at is None or currency is None:
            continue
        if synthetic:
            stamp = stamps.get(ordered_at)
            if stamp is None:
                stamp = stamps[ordered_at] = ordered_at.strftime("%Y%m%dT%H%M%S")
            occurrences[(customer, stamp)] += 1
            order_id = f"{customer}:{stamp}:{occurrences[(customer, stamp)]}"
        else:
            given = order_texts[index] or ""
            if not given:
                fail(row, column("order_id"), "order number is missing", "missing order number")
                continue
            order_id = full_ids.get(given) or full_ids.setdefault(
                given, given if given.startswith(prefix) else prefix + given
            )
        if len(order_id) > 128:
            fail(
                row,
                column("order_id"),
                "order number longer than 128 characters",
                "bad order number",
            )
            continue
        order = orders.get(order_id)
        if order is None:
            order = orders[order_id] = OrderDraft(
                external_id=order_id,
                row=row,
                customer=customer,
                ordered_at=ordered_at,
                status=status or "paid",
                currency=currency,
                total_minor=None,
                discount_minor=0,
                channel=(channels[index] or "")[:32] or None,
            )
            ref = customers[customer]
            if ref.first_seen is None or ordered_at < ref.first_seen:
                ref.first_seen = ordered_at
        elif order.currency != currency:
            fail(
                row,
                column("currency"),
                f"order {order_id} mixes {order.currency} and {currency}",
                "mixed currencies",
            )
            continue
        if total is not None and order.total_minor is None:
            order.total_minor = minor(row, "total", total, currency)
            if refunded is not None and total > 0 and refunded >= total and order.status == "paid":
                order.status = "refunded"
        if discount is not None and not order.discount_minor:
            order.discount_minor = minor(row, "discount", discount, currency) or 0
        if has_line[index]:
            derived = unit_cells is None or unit_cells[index] is None
            memo_key = (quantity, unit, line_amount, currency, derived)
            made = line_memo.get(memo_key)
            if made is None:
                made = line_memo[memo_key] = _line_values(
                    quantity, unit, line_amount, _precision(currency), derived
                )
            qty, unit_minor, amount_minor, rounded, problems = made
            out.rounded_amounts += rounded
            if problems:
                for name, message, reason in problems:
                    fail(row, column(name), message, reason)
                if problems[-1][0] == "quantity":
                    continue
            sku = skus[index]
            description = descriptions[index]
            order.lines.append(
                LineDraft(
                    sku[:64] if sku else None,
                    description[:255] if description else None,
                    qty,
                    unit_minor,
                    amount_minor,
                )
            )
            amounts.append((row, amount_minor))
        elif total is not None:
            amounts.append((row, order.total_minor or 0))
    for order in orders.values():
        if order.total_minor is None:
            order.total_minor = sum(line.amount_minor for line in order.lines)
    out.orders = [o for o in orders.values() if o.row not in out.invalid_rows]
    _amount_outliers(amounts, out)


def _line_values(
    quantity: int | None,
    unit: Decimal | None,
    line_amount: Decimal | None,
    digits: int,
    derived: bool,
) -> _LineValues:
    """One order line's quantity, unit price and amount in minor units, how many given amounts
    were rounded, and its problems as (field, message, reason); a problem with the quantity
    means the line is left out. A unit price worked out from the amount (``derived``) is not
    counted as rounded."""
    qty = 1 if quantity is None else quantity
    if line_amount is None and unit is not None:
        line_amount = unit * qty
    if unit is None and line_amount is not None:
        unit = line_amount / qty if qty else line_amount
    problems: list[tuple[str, str, str]] = []
    rounded = 0
    minors: list[int] = []
    for name, amount, counted in (
        ("unit_price", unit or Decimal(0), not derived),
        ("line_amount", line_amount or Decimal(0), True),
    ):
        value, changed = round_to(amount, digits)
        rounded += changed and counted
        if abs(value) >= 10**15:
            problems.append((name, f"amount {amount} is too large", "amount too large"))
            value = 0
        minors.append(value)
    if abs(qty) > 2**31 - 1:
        problems.append(("quantity", f"quantity {qty} is too large", "bad quantity"))
    return qty, minors[0], minors[1], rounded, tuple(problems)


def _amount_outliers(amounts: list[tuple[int, int]], out: Cleaned) -> None:
    negative = [row for row, minor in amounts if minor < 0]
    zero = [row for row, minor in amounts if minor == 0]
    positive = [minor for _, minor in amounts if minor > 0]
    median = statistics.median(positive) if positive else 0
    huge = [row for row, minor in amounts if median and minor > HUGE_FACTOR * median]
    out.outliers = {
        "negative_amounts": len(negative),
        "zero_amounts": len(zero),
        "huge_amounts": len(huge),
        "huge_threshold_minor": HUGE_FACTOR * median if median else None,
        "examples": {"negative": negative[:5], "zero": zero[:5], "huge": huge[:5]},
    }


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
    dates = [o.ordered_at for o in out.orders] + [s.started_at for s in out.subscriptions]
    dates += [i.occurred_at for i in out.interactions] + [f.at for f in out.feedback]
    future = sum(1 for moment in dates if moment > now)
    if future:
        out.outliers["future_dates"] = future
    return out
