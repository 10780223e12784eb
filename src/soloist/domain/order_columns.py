"""The paid orders as columns in memory, brought up to date from the orders added since.

The dashboard's order figures (revenue by month, the customers' activity, the cohorts) are
aggregates over every paid order: a million rows at a hundred thousand customers, seconds of
SQL each time. Read once as columns (customer, time, amount less refunds, currency) they take
NumPy milliseconds; and a live order only adds rows, so the columns are brought up to date by
reading the orders with a newer id, not every order again.

Whatever rewrites orders already read (a refund, a status change, an import's update, a merge,
an erasure, the retention policy) is audited under one of :data:`REWRITES_ORDERS`, and the next
use then reads every paid order again; so does a count that does not add up (an order deleted,
or committed on a server database under a smaller id than one already read). An audit entry
committed under a smaller id than one already read cannot be seen that way, so the columns are
also read again in full once they are :data:`FULL_READ_AFTER_SECONDS` old.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.storage.bulk import (
    columns_of,
    fetch_raw,
    int_column,
    read_in_parts,
    utc_nanosecond_column,
    utc_nanoseconds,
)
from soloist.storage.caches import VersionedCache
from soloist.storage.models import AuditEntry, Order

#: Audited actions that change orders already stored (their status, amount, customer, or
#: whether they exist). A test keeps every audited action of orders and customers classified.
REWRITES_ORDERS = frozenset(
    {
        "order.status_changed",
        "order.refunded",
        "order.updated_by_import",
        "customer.merged",
        "customer.merged_into",
        "customer.erased",
        "retention.applied",
    }
)
FULL_READ_AFTER_SECONDS = 600.0
Version = tuple[int, int | None, int | None]  # orders' count and newest id, audit's newest id
#: More new orders than this share of those read: reading everything again is as quick.
_FOLD_AT_MOST = 0.25

# Two entries: a workspace's current columns and the previous (35 MB each at a million orders).
_columns: VersionedCache[str, PaidOrderColumns] = VersionedCache("paid order columns", maxsize=2)


@dataclass(frozen=True)
class PaidOrderColumns:
    """Every paid order as aligned columns, and what they were read up to.

    ``ordered_at`` is in nanoseconds since the epoch (UTC; see
    :func:`soloist.storage.bulk.utc_nanoseconds`), ``net_minor`` the total less what was
    refunded, ``currency`` an index into ``currencies``. ``newest_ordered_at`` is the latest
    time of any order, paid or not (the dashboard's "as of"); ``orders``, ``newest_id`` and
    ``newest_audit`` are the orders' count, newest id and the audit log's newest id when read.
    """

    customer_id: np.ndarray
    ordered_at: np.ndarray
    month: np.ndarray  # of ordered_at, counted from January 1970 (see months_of)
    net_minor: np.ndarray
    currency: np.ndarray
    currencies: tuple[str, ...]
    newest_ordered_at: int | None
    orders: int
    newest_id: int | None
    newest_audit: int | None
    read_at: float  # time.monotonic() of the last full read

    def __len__(self) -> int:
        return int(self.customer_id.size)

    @property
    def version(self) -> Version:
        return (self.orders, self.newest_id, self.newest_audit)

    def with_rows(self, rows: list[Any], version: tuple[Any, ...]) -> PaidOrderColumns:
        """These columns and the orders ``rows`` (of :func:`_order_query`), at ``version``."""
        return self.with_columns(columns_of(rows, 5), version)

    def with_columns(
        self, columns: Sequence[Sequence[Any]], version: tuple[Any, ...]
    ) -> PaidOrderColumns:
        """:meth:`with_rows` from the rows' columns: four (paid orders only, without their
        status) or five."""
        if len(columns) == 4:
            customer, ordered, net, currency = columns
            paid: Any = slice(None)
        else:
            customer, status, ordered, net, currency = columns
            paid = np.asarray(status, dtype=object) == "paid"
        rows = len(customer)
        times = utc_nanosecond_column(ordered) if rows else np.empty(0, np.int64)
        index = {code: i for i, code in enumerate(self.currencies)}
        currency_column = pl.Series(currency, dtype=pl.String)
        for code in currency_column.unique(maintain_order=True).to_list():
            index.setdefault(code, len(index))
        codes = (
            currency_column.replace_strict(index, return_dtype=pl.Int16)
            .to_numpy()
            .astype(np.int16)  # an empty column comes back as objects
        )
        newest = [t for t in (self.newest_ordered_at,) if t is not None]
        newest += [int(times.max())] if rows else []
        return PaidOrderColumns(
            customer_id=np.concatenate([self.customer_id, int_column(customer)[paid]]),
            ordered_at=np.concatenate([self.ordered_at, times[paid]]),
            month=np.concatenate([self.month, months_of(times[paid])]),
            net_minor=np.concatenate([self.net_minor, int_column(net)[paid]]),
            currency=np.concatenate([self.currency, codes[paid]]),
            currencies=tuple(str(code) for code in index),
            newest_ordered_at=max(newest) if newest else None,
            orders=int(version[0]),
            newest_id=version[1],
            newest_audit=version[2],
            read_at=self.read_at,
        )


def months_of(nanoseconds: np.ndarray) -> np.ndarray:
    """The month of each time in nanoseconds since the epoch, counted from January 1970
    (NumPy's ``datetime64[M]``)."""
    return nanoseconds.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)


def _version(session: Session) -> Version:
    """The orders' count and newest id, and the audit log's newest id."""
    row: Any = session.execute(
        select(
            select(func.count(Order.id)).scalar_subquery(),
            select(func.max(Order.id)).scalar_subquery(),
            select(func.max(AuditEntry.id)).scalar_subquery(),
        )
    ).one()
    count, newest, audit = row
    return int(count or 0), newest, audit


def _order_query(*where: Any, status: bool = True) -> Any:
    """Customer, status (unless not ``status``), time, amount less refunds and currency of the
    orders ``where``: the rows :meth:`PaidOrderColumns.with_rows` takes."""
    columns = [
        Order.customer_id,
        *([Order.status] if status else []),
        Order.ordered_at,
        Order.total_minor - Order.refunded_minor,
        Order.currency,
    ]
    return select(*columns).where(*where)


def read_paid_order_columns(session: Session) -> PaidOrderColumns:
    """Every paid order read now as columns (no cache). Only orders up to the newest id of the
    version are read, so that one committed meanwhile is read by the next update, not twice."""
    version = _version(session)
    empty = np.empty(0, np.int64)
    nothing = PaidOrderColumns(
        empty, empty, empty, empty, np.empty(0, np.int16), (), None, 0, None, None,
        time.monotonic(),
    )  # fmt: skip
    if version[1] is None:
        return nothing.with_rows([], version)
    # A part at a time, each added to the columns: the ten million orders of a million
    # customers took some 3 GB as the driver's rows.
    columns = nothing.with_rows([], version)

    def add(part: list[Sequence[Any]]) -> None:
        nonlocal columns
        columns = columns.with_columns(part, version)

    paid = _order_query(Order.status == "paid", Order.id <= version[1], status=False)
    read_in_parts(session, paid, 4, add)
    newest = session.scalar(select(func.max(Order.ordered_at)).where(Order.id <= version[1]))
    if newest is None:  # the orders were deleted meanwhile
        return columns
    return replace(columns, newest_ordered_at=utc_nanoseconds(newest))


def _brought_up_to_date(
    session: Session, previous: PaidOrderColumns, version: Version
) -> PaidOrderColumns | None:
    """``previous`` with the orders added since, or None when every order must be read again:
    one already read was rewritten, the counts do not add up, or reading again is as quick."""
    if time.monotonic() - previous.read_at > FULL_READ_AFTER_SECONDS:
        return None
    if previous.newest_id is None or previous.newest_audit is None or version[1] is None:
        return None
    added = version[0] - previous.orders
    if added < 0 or added > max(len(previous), 1) * _FOLD_AT_MOST:
        return None
    rewritten = session.scalar(
        select(AuditEntry.id)
        .where(AuditEntry.id > previous.newest_audit, AuditEntry.action.in_(REWRITES_ORDERS))
        .limit(1)
    )
    if rewritten is not None:
        return None
    rows = fetch_raw(session, _order_query(Order.id > previous.newest_id, Order.id <= version[1]))
    if len(rows) != added:
        return None  # one deleted and one added, or one committed under an older id
    return previous.with_rows(rows, version)


def paid_order_columns(session: Session) -> PaidOrderColumns:
    """Every paid order as columns: kept per database, brought up to date from the orders
    added since they were read, or read again in full (see the module's docstring)."""
    version = _version(session)
    return _columns.get_or_extend(
        str(session.get_bind().engine.url),
        version,
        lambda previous: _brought_up_to_date(session, previous, version),
        lambda: read_paid_order_columns(session),
    )
