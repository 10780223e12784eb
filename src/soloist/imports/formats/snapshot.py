"""A subscription snapshot: one row per subscriber as of one day, with the months they have been
subscribed (a tenure) instead of a start date, and whether they left (churn yes/no) instead of a
status — the layout of IBM's Telco customer churn data (``customerID``, ``tenure``,
``Contract``, ``MonthlyCharges``, ``TotalCharges``, ``Churn`` and the customer's other traits).

It is recognised by a tenure column and a churn column with no start date (a subscriptions
file with a tenure, no start date and a status is read so too). Read as of the day the snapshot
was taken (``--as-of``; the import says which day it used):

* ``started_at`` is that day less the tenure in months, a month end clamped to the shorter
  month (tenure 1 as of 2024-03-31 started on 2024-02-29);
* churn yes makes the subscription cancelled in the middle of the month before that day (never
  before its start): such data record who left within that month, not the day. The analyses
  read a book from its first cancellation on (left truncation), so that month is the one
  watched: every subscriber was at risk in it, the churners left in it. (Cancelled on the
  snapshot's day itself, nobody still running would have been watched at all, and the
  retention model cannot be fitted.) Churn no keeps the subscription active; a status column,
  where a row gives one, says it instead, and a cancellation column its day;
* one subscription per customer, its id the customer's (``file:7590-VHVEG:subscription``), so a
  later snapshot of the same book updates the subscriptions rather than adding to them;
* the plan is the contract (Month-to-month, One year, Two year) and the price the monthly
  charge, billed every month unless an interval column says otherwise;
* every other column that is no field of a customer or a subscription (gender, Partner,
  PaymentMethod, TotalCharges …) is kept as the customer's own field, which the churn model
  learns from. The churn flag itself is not kept as a field: it is the subscription's status.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, ClassVar

from soloist.imports.base import TableFormat
from soloist.imports.raw import RawTable, shown
from soloist.imports.synonyms import FIELDS
from soloist.imports.values import SUBSCRIPTION_SYNONYMS, parse_choice, parse_int

if TYPE_CHECKING:
    from soloist.imports.clean.rows import Row

#: the longest tenure read, in months (a century); more is a broken cell
MAX_TENURE = 1200
_YES = frozenset(
    {"yes", "y", "true", "t", "1", "churned", "left", "cancelled", "canceled", "是", "已流失",
     "流失", "已退订"}
)  # fmt: skip
_NO = frozenset(
    {"no", "n", "false", "f", "0", "stayed", "retained", "active", "否", "未流失", "在网", "留存"}
)  # fmt: skip
# A spreadsheet's row-number column (``Unnamed: 0`` of a pandas export) is nobody's trait.
_INDEX_COLUMN = re.compile(r"^(unnamed: ?\d+|index)$", re.IGNORECASE)


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` less ``months`` calendar months, the day clamped to the shorter month's end:
    ``months_before(date(2024, 3, 31), 1)`` is 2024-02-29."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    if year < 1:
        raise ValueError(f"{months} months before {day} is before the year 1")
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def cancellation_day(as_of: dt.date, started: dt.date) -> dt.date:
    """When a subscriber who left in the month before ``as_of`` is taken to have cancelled: the
    middle of that month (2024-06-14 for 2024-06-30), or the start when that is later."""
    month_before = months_before(as_of, 1)
    return max(month_before + (as_of - month_before) // 2, started)


def parse_tenure(text: str) -> int:
    """A tenure in whole months, 0 to :data:`MAX_TENURE`."""
    try:
        months = parse_int(text)
    except ValueError:
        raise ValueError(
            f"tenure must be a whole number of months, got {shown(text.strip())}"
        ) from None
    if months < 0:
        raise ValueError(f"tenure must be 0 months or more, got {months}")
    if months > MAX_TENURE:
        raise ValueError(f"tenure of {months} months is more than a century")
    return months


def parse_churn(text: str) -> bool:
    """Whether a churn cell says the subscriber left: yes/no, true/false, 1/0 (or 是/否)."""
    word = unicodedata.normalize("NFKC", text).strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValueError(
        f"churn must be yes or no (or 1/0, true/false), got {shown(text.strip())}; "
        "read another word as one with --map-value churned:WORD=yes"
    )


class SubscriptionSnapshot(TableFormat):
    """A book of subscriptions as of one day (see the module's text); :meth:`on` gives the
    format that reads it as of a given day."""

    name: ClassVar[str] = "subscription-snapshot"
    label: ClassVar[str] = (
        "subscription snapshot (tenure in months, churn yes/no: the Telco layout)"
    )
    source: ClassVar[str] = "file"
    kinds: ClassVar[tuple[str, ...]] = ("subscriptions", "customers")
    columns: ClassVar[dict[str, str]] = {
        "customerID": "customer_id",
        "tenure": "tenure",
        "Contract": "plan",
        "MonthlyCharges": "price",
        "Churn": "churned",
    }

    def __init__(self, as_of: dt.date | None = None) -> None:
        self.as_of = as_of
        self._subscriptions: Counter[str] = Counter()  # per customer, in this file

    def on(self, as_of: dt.date) -> SubscriptionSnapshot:
        """The format reading a snapshot taken on ``as_of`` (a fresh one for each import)."""
        return type(self)(as_of)

    def detect(self, table: RawTable) -> bool:
        mapping = self.map_columns(table, "subscriptions")
        return "tenure" in mapping and "churned" in mapping and "started_at" not in mapping

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]:
        fields = FIELDS[kind]
        return {f: i for f, i in super().map_columns(table, kind).items() if f in fields}

    def read_snapshot(self, row: Row) -> None:
        """Give the row the start, status and cancellation its tenure and churn mean (as text,
        for the cleaning to read as every subscription's); a bad tenure or churn cell makes the
        row invalid, named by its column."""
        values = row.record.values
        day = self.as_of or dt.date.today()
        tenure = row.typed("tenure", parse_tenure, "bad tenure")
        churned = row.typed("churned", parse_churn, "bad churn")
        start: dt.date | None = None
        if not values.get("started_at", "").strip():
            if tenure is not None:
                try:
                    start = months_before(day, tenure)
                except ValueError as exc:
                    row.fail("tenure", str(exc), "bad tenure")
            elif row.ok:
                row.fail("tenure", "tenure is missing", "missing tenure")
            # a refused row's start stands in as the day, so that only the cause is named
            values["started_at"] = (start or day).isoformat()
        status = values.get("status", "").strip()
        if not status:
            if churned is None and "churned" in values and row.ok:
                row.fail("churned", "churn is missing (yes or no)", "missing churn")
            if churned is not None:
                values["status"] = status = "cancelled" if churned else "active"
        if self._cancelled(status) and not values.get("cancelled_at", "").strip():
            left = cancellation_day(day, start or dt.date.min)
            values["cancelled_at"] = left.isoformat()
        self._name_subscription(row)

    @staticmethod
    def _cancelled(status: str) -> bool:
        try:
            return bool(status) and parse_choice(status, SUBSCRIPTION_SYNONYMS, "") == "cancelled"
        except ValueError:
            return False  # the cleaning names the unknown status

    def _name_subscription(self, row: Row) -> None:
        """Without a subscription id, the customer's first subscription of the file is
        ``<customer>:subscription``, a second ``<customer>:subscription:2`` …"""
        values = row.record.values
        if values.get("subscription_id", "").strip():
            return
        email = row.text("email")
        who = (
            row.text("customer_id")
            or (email.lower() if email else None)
            or row.text("phone")
            or row.text("name")
        )
        if who is None:
            return  # the row names nobody: the cleaning says so
        self._subscriptions[who] += 1
        count = self._subscriptions[who]
        values["subscription_id"] = f"{who}:subscription" + (f":{count}" if count > 1 else "")

    def customer_fields(
        self,
        table: RawTable,
        kind: str,
        mapping: Mapping[str, int],
        ignored: Collection[str] = (),
    ) -> dict[int, dict[str, str]]:
        """Row number -> the customer's own fields the row gives: every column that feeds no
        field of a customer or a subscription (nor one left out with ``--map COLUMN=``), blank
        cells left out."""
        used = {
            *mapping.values(),
            *self.map_columns(table, "subscriptions").values(),
            *self.map_columns(table, "customers").values(),
        }
        kept = [
            index
            for index, name in enumerate(table.header)
            if index not in used
            and name.strip()
            and name not in ignored
            and not _INDEX_COLUMN.match(name.strip())
        ]
        found: dict[int, dict[str, str]] = {number: {} for number in table.row_numbers}
        for index in kept:
            name = table.header[index].strip()
            for number, cell in zip(table.row_numbers, table.stripped(index), strict=True):
                if cell:
                    found[number][name] = cell
        return found
