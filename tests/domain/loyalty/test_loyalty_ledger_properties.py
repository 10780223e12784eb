"""Property: no sequence of earn, redeem, adjust, refund and expiry drives a balance negative."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.domain.loyalty.helpers import T0, days, member, order, programme

from soloist.domain.loyalty.ledger import ledger_entries, open_lots, points_balance
from soloist.domain.loyalty.programme import (
    adjust_points,
    earn_for_order,
    expire_points,
    redeem_points,
    reverse_order_points,
)
from soloist.domain.orders import set_order_status
from soloist.errors import InsufficientPointsError
from soloist.storage.database import Database

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 300)),
        st.tuples(st.just("redeem"), st.integers(1, 400)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(st.just("refund"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.integers(1, 250)),
    ),
    max_size=30,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_the_ledger_never_goes_negative_and_always_adds_up(
    sqlite_database: Database, steps: list[tuple[str, int]]
) -> None:
    with sqlite_database.session() as session:
        programme(session, expiry_months=6)
        customer = member(session, "Prop")
        now, orders, keys = T0, [], 0
        for kind, value in steps:
            before = points_balance(session, customer)
            if kind == "earn":
                bought = order(session, customer, str(value), now)
                earn_for_order(session, bought.id, at=now)
                orders.append(bought)
            elif kind == "redeem":
                keys += 1
                outcome = redeem_points(session, customer, value, f"k{keys}", "prop", now=now)
                assert outcome.redeemed == (before >= value)
            elif kind == "adjust":
                try:
                    adjust_points(session, customer, value, "property", "prop", at=now)
                except InsufficientPointsError:
                    assert before + value < 0
            elif kind == "refund" and orders:
                refunded = orders[value % len(orders)]
                set_order_status(session, refunded.id, "refunded", "prop")
                reverse_order_points(session, refunded.id, "prop", at=now)
            elif kind == "wait":
                now += days(value)
                expire_points(session, now)
            entries = ledger_entries(session, customer)
            balance = points_balance(session, customer)
            assert balance >= 0
            assert balance == sum(e.points for e in entries)
            assert balance == sum(lot.remaining for lot in open_lots(entries))
            assert all(lot.remaining >= 0 for lot in open_lots(entries))
        # Every credit expires (no sign-up bonus here), so after the last date nothing is left.
        expire_points(session, now + days(400))
        assert points_balance(session, customer) == 0
