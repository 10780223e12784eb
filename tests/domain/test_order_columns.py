"""The dashboard's order figures come from the paid orders held as columns, brought up to date
from the orders added since: they must equal the figures worked out order by order, and the
columns after any change must equal a fresh read."""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

import soloist
from soloist.domain import order_columns
from soloist.domain.currencies import in_currency, revenue_by_currency
from soloist.domain.customers.merge import merge_customers
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.dashboard import build_dashboard, figures_as_of, monthly_cohorts
from soloist.domain.intake.orders import refund_order
from soloist.domain.order_columns import (
    REWRITES_ORDERS,
    PaidOrderColumns,
    paid_order_columns,
    read_paid_order_columns,
)
from soloist.domain.orders import OrderCreate, record_order, set_order_status
from soloist.storage.database import Database
from soloist.storage.models import Order

END = dt.datetime(2025, 6, 18, 15, 30, tzinfo=dt.UTC)
RATES = {"EUR": Decimal("0.86")}

#: Audited actions of orders and customers that leave every stored order as it was.
KEEP_ORDERS = {
    "order.created",
    "orders.bulk_added",
    "customer.created",
    "customers.bulk_added",
    "customer.updated",
    "customer.updated_by_import",
    "customer.data_exported",
    "retention.previewed",
}


def _orders(database: Database, seed: int, customers: int = 25, orders: int = 160) -> list[int]:
    """Random orders over three years before END in three currencies, some refunded in part,
    some cancelled or refunded, a few on the edges of the dashboard's windows."""
    rng = random.Random(seed)
    edges = [END - dt.timedelta(days=days) for days in (365, 730, 90)] + [END]
    with database.session() as session:
        ids = [
            create_customer(session, CustomerCreate(name=f"C{n}"), "t").id for n in range(customers)
        ]
        joined = {c: rng.uniform(0, 1100) for c in ids}  # days before END of a first purchase
        for n in range(orders):
            customer = rng.choice(ids)
            when = (
                edges[n]
                if n < len(edges)
                else END
                - dt.timedelta(days=rng.uniform(0, joined[customer]), seconds=rng.randint(0, 999))
            )
            currency = rng.choice(["GBP", "GBP", "EUR", "JPY"])
            cents = rng.randint(100, 90_000)
            order = record_order(
                session,
                OrderCreate(
                    external_id=f"O{seed}-{n}",
                    customer_id=customer,
                    ordered_at=when,
                    currency=currency,
                    status=rng.choice(["paid"] * 8 + ["refunded", "cancelled"]),
                    total=Decimal(cents) / (1 if currency == "JPY" else 100),
                ),
                "t",
            )
            if order.status == "paid" and rng.random() < 0.1:
                order.refunded_minor = order.total_minor // 3
    return ids


def _paid(database: Database) -> list[tuple[int, dt.datetime, int, str]]:
    with database.session() as session:
        rows = session.execute(
            select(
                Order.customer_id,
                Order.ordered_at,
                Order.total_minor - Order.refunded_minor,
                Order.currency,
            ).where(Order.status == "paid")
        ).all()
    return [(c, t.replace(tzinfo=dt.UTC), int(net), str(code)) for c, t, net, code in rows]


def test_order_figures_equal_the_figures_worked_out_order_by_order(database: Database) -> None:
    _orders(database, seed=7)
    paid = _paid(database)
    with database.session() as session:
        board = build_dashboard(session, "GBP", RATES)
        as_of = figures_as_of(session)
        twelve_months = revenue_by_currency(
            session, "GBP", RATES, Order.ordered_at > as_of - dt.timedelta(days=365)
        )
        cohorts = monthly_cohorts(session, as_of)
    assert board.as_of == as_of == END
    year_ago, two_years_ago = END - dt.timedelta(days=365), END - dt.timedelta(days=730)
    assert board.revenue_12m_minor == twelve_months.total_minor
    assert board.orders_12m == sum(1 for _, t, _, c in paid if t > year_ago and c != "JPY")
    assert board.unconverted_12m == {
        "JPY": sum(n for _, t, n, c in paid if t > year_ago and c == "JPY")
    }
    assert (board.cohorts, board.cohort_matrix) == cohorts
    assert board.cohorts
    start = (END - dt.timedelta(days=31 * 24)).replace(day=1)
    sums: dict[tuple[str, str], int] = {}  # each month's revenue per currency, converted once
    for _, when, net, code in paid:
        if when >= start and code in ("GBP", "EUR"):
            key = (when.strftime("%Y-%m"), code)
            sums[key] = sums.get(key, 0) + net
    by_month: dict[str, int] = {}
    for (month, code), total in sums.items():
        by_month[month] = by_month.get(month, 0) + (in_currency(total, code, "GBP", RATES) or 0)
    assert [(m.month, m.revenue_minor) for m in board.revenue_trend] == sorted(by_month.items())[
        -24:
    ]

    def bought(customer: int, since: dt.datetime, until: dt.datetime) -> bool:
        return any(c == customer and since < t <= until for c, t, _, _ in paid)

    buyers = {c for c, _, _, _ in paid}
    first = {c: min(t for b, t, _, _ in paid if b == c) for c in buyers}
    before = {c for c in buyers if bought(c, two_years_ago, year_ago)}
    retained = {c for c in before if bought(c, year_ago, END)}
    new = {c for c in buyers if first[c] > year_ago}
    assert board.active_customers == sum(
        bought(c, END - dt.timedelta(days=90), END) for c in buyers
    )
    assert board.retention_rate == pytest.approx(
        (len(retained) + len(new) - len(new)) / len(before)
    )
    repeaters = {c for c in buyers if sum(1 for b, _, _, _ in paid if b == c) >= 2}
    assert board.repeat_purchase_rate == pytest.approx(len(repeaters) / len(buyers))


def _sorted(columns: PaidOrderColumns) -> list[tuple[int, int, int, int, str]]:
    return sorted(
        zip(
            columns.customer_id.tolist(),
            columns.ordered_at.tolist(),
            columns.month.tolist(),
            columns.net_minor.tolist(),
            [columns.currencies[i] for i in columns.currency.tolist()],
            strict=True,
        )
    )


def _same_as_a_fresh_read(database: Database) -> PaidOrderColumns:
    with database.session() as session:
        kept = paid_order_columns(session)
        fresh = read_paid_order_columns(session)
    assert _sorted(kept) == _sorted(fresh)
    assert (kept.newest_ordered_at, kept.version) == (fresh.newest_ordered_at, fresh.version)
    return kept


def _record(
    database: Database, number: int, customer_id: int, when: dt.datetime, currency: str = "GBP"
) -> int:
    with database.session() as session:
        return record_order(
            session,
            OrderCreate(
                external_id=f"N{number}",
                customer_id=customer_id,
                ordered_at=when,
                currency=currency,
                total=Decimal("12.50"),
            ),
            "t",
        ).id


def test_kept_columns_take_new_orders_and_are_read_again_after_a_rewrite(
    database: Database,
) -> None:
    ids = _orders(database, seed=11, customers=6, orders=40)
    first = _same_as_a_fresh_read(database)
    _record(database, 1, ids[0], END + dt.timedelta(hours=1))
    _record(database, 2, ids[1], END - dt.timedelta(days=400), currency="USD")  # a new one
    added = _same_as_a_fresh_read(database)
    assert added.read_at == first.read_at  # brought up to date, not read again
    assert len(added) == len(first) + 2
    assert (added.newest_ordered_at or 0) > (first.newest_ordered_at or 0)

    refunded = _record(database, 3, ids[2], END)
    with database.session() as session:
        refund_order(session, refunded, Decimal("5.00"), "t")
    after_refund = _same_as_a_fresh_read(database)
    assert after_refund.read_at > added.read_at

    with database.session() as session:
        set_order_status(session, refunded, "cancelled", "t")
    after_cancel = _same_as_a_fresh_read(database)
    assert after_cancel.read_at > after_refund.read_at

    with database.session() as session:
        merge_customers(session, ids[0], ids[3], "t")
    after_merge = _same_as_a_fresh_read(database)
    assert after_merge.read_at > after_cancel.read_at
    assert ids[3] not in after_merge.customer_id.tolist()


def test_an_unaudited_deletion_with_an_addition_is_caught_by_the_ids(database: Database) -> None:
    """The count alone would not change: one order gone, one new. The new ids say so."""
    ids = _orders(database, seed=13, customers=4, orders=20)
    before = _same_as_a_fresh_read(database)
    with database.session() as session:
        oldest = session.scalar(select(Order.id).order_by(Order.id).limit(1))
        session.execute(delete(Order).where(Order.id == oldest))
    _record(database, 4, ids[0], END)
    after = _same_as_a_fresh_read(database)
    assert after.orders == before.orders
    assert after.read_at > before.read_at


def test_the_dashboard_kept_up_to_date_equals_one_computed_from_nothing(
    sqlite_database: Database,
) -> None:
    ids = _orders(sqlite_database, seed=17)
    with sqlite_database.session() as session:
        paid_order_columns(session)
    for n in range(5):
        _record(sqlite_database, 10 + n, ids[n], END - dt.timedelta(days=n * 45))
    with sqlite_database.session() as session:
        kept = build_dashboard(session, "GBP", RATES, paid_order_columns(session))
        fresh = build_dashboard(session, "GBP", RATES)
    assert kept == fresh
    assert np.isfinite(kept.retention_rate or 0.0)


def test_every_audited_action_of_orders_and_customers_is_classified() -> None:
    """A new audited action of orders or customers must say whether it rewrites stored orders:
    unclassified, the kept columns could miss it."""
    source = Path(soloist.__file__).parent
    pattern = re.compile(
        r'record_audit\(\s*[^,]+,\s*[^,]+,\s*"((?:order|orders|customer|customers|retention)\.[a-z_]+)"'
    )
    actions = {
        action
        for path in source.rglob("*.py")
        for action in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert {"order.created", "customer.merged"} <= actions  # the search finds them
    assert actions - REWRITES_ORDERS - KEEP_ORDERS == set()


def test_kept_columns_are_read_again_in_full_once_they_are_old(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audit entry committed on a server database under an older id than one already read
    cannot be seen by its id; reading everything again every so often bounds how long a change
    it records could be missed."""
    ids = _orders(sqlite_database, seed=19, customers=3, orders=10)
    first = _same_as_a_fresh_read(sqlite_database)
    _record(sqlite_database, 30, ids[0], END)
    assert _same_as_a_fresh_read(sqlite_database).read_at == first.read_at
    monkeypatch.setattr(order_columns, "FULL_READ_AFTER_SECONDS", 0.0)
    _record(sqlite_database, 31, ids[1], END)
    assert _same_as_a_fresh_read(sqlite_database).read_at > first.read_at


def test_a_workspace_whose_only_order_was_cancelled_has_figures_of_nothing(
    database: Database,
) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        record_order(
            session,
            OrderCreate(
                external_id="X1", customer_id=customer_id, ordered_at=END, currency="GBP",
                status="cancelled", total=Decimal("9.99"),
            ),
            "t",
        )  # fmt: skip
    with database.session() as session:
        board = build_dashboard(session, "GBP", RATES, paid_order_columns(session))
    assert board.as_of == END  # the cancelled order still dates the figures
    assert (board.revenue_12m_minor, board.orders_12m, board.revenue_trend) == (0, 0, [])
    assert (board.active_customers, board.cohorts, board.repeat_purchase_rate) == (0, [], None)
    assert board.customers == 1


def test_the_columns_read_a_part_at_a_time_equal_one_read(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in parts of 7 orders (the last one short), each added to the columns: the same
    columns, in the same order, as one read (a million customers' orders took some 3 GB as
    rows), with every currency's code kept across the parts."""
    from soloist.storage import bulk

    _orders(database, seed=17, customers=9, orders=60)
    with database.read_session() as session:
        whole = read_paid_order_columns(session)
        monkeypatch.setattr(bulk, "READ_PART", 7)
        parts = read_paid_order_columns(session)
    assert len(whole) > 7 * 4
    for name in ("customer_id", "ordered_at", "month", "net_minor"):
        assert np.array_equal(getattr(parts, name), getattr(whole, name)), name
    assert [parts.currencies[c] for c in parts.currency] == [
        whole.currencies[c] for c in whole.currency
    ]
    assert (parts.newest_ordered_at, parts.version) == (whole.newest_ordered_at, whole.version)
