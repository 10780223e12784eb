"""The rule language: errors with positions, only its own error type, bound values."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from soloist.domain.segment_rules import (
    RuleSyntaxError,
    count_rule,
    customers_matching,
    list_segments,
    parse_rule,
    save_rule_segment,
)
from soloist.errors import ConflictError
from soloist.storage.database import Database
from soloist.storage.models import Customer, CustomerTag, Order


def test_parse_builds_a_tree_with_precedence() -> None:
    tree = parse_rule('clv_12m > 500 and churn_risk >= 0.6 or tag = "vip"')
    assert tree == (
        "or",
        ("and", ("cmp", "clv_12m", ">", 500.0), ("cmp", "churn_risk", ">=", 0.6)),
        ("cmp", "tag", "=", "vip"),
    )
    assert parse_rule("NOT (orders < 2)") == ("not", ("cmp", "orders", "<", 2.0))
    assert parse_rule("segment not in ('lost', \"at risk\")") == (
        "in", "segment", ("lost", "at risk"), True,
    )  # fmt: skip
    assert parse_rule("country is not null") == ("null", "country", True)


@pytest.mark.parametrize(
    ("rule", "position", "words"),
    [
        ("churn_risk >= ", 15, "Expected a number"),
        ("foo > 1", 1, "Unknown field 'foo'"),
        ('tag = "vip"; DROP TABLE customers; --', 12, "Unexpected character ';'"),
        ("orders > 1 -- comment", 12, "Unexpected character '-'"),
        ('churn_risk > "high"', 14, "Expected a number"),
        ("(orders > 1", 12, "Expected ')'"),
        ("tag > 'vip'", 5, "A tag can only be compared"),
        ("orders > 1 orders", 12, "Expected 'and', 'or'"),
        ("", 1, "Expected a condition"),
    ],
)
def test_errors_point_at_the_mistake(rule: str, position: int, words: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(rule)
    assert caught.value.position + 1 == position
    assert words in caught.value.message
    assert f"at position {position}" in caught.value.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parser_never_raises_anything_but_its_own_error(text: str) -> None:
    with contextlib.suppress(RuleSyntaxError):
        parse_rule(text)


_pieces = st.sampled_from(
    ["orders", "churn_risk", "tag", "segment", "and", "or", "not", "in", "is", "null", "(",
     ")", ",", "=", "!=", ">=", "<", "1", "0.5", '"vip"', "'x'", ";", "--", "'", '"']
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=12))
def test_parser_on_token_soup_never_raises_anything_but_its_own_error(parts: list[str]) -> None:
    with contextlib.suppress(RuleSyntaxError):
        parse_rule(" ".join(parts))


def _seed(database: Database) -> None:
    with database.session() as session:
        for i, (tags, country) in enumerate(
            [(["vip"], "US"), ([], "US"), (["vip", "wholesale"], "DE"), ([], None)]
        ):
            customer = Customer(name=f"c{i}", country=country)
            session.add(customer)
            session.flush()
            for tag in tags:
                session.add(CustomerTag(customer_id=customer.id, tag=tag))
            for k in range(i):
                session.add(
                    Order(
                        external_id=f"o{i}-{k}", customer_id=customer.id, currency="USD",
                        total_minor=10_000, ordered_at=__import__("datetime").datetime(
                            2024, 1, 1 + k, tzinfo=__import__("datetime").UTC),
                    )
                )  # fmt: skip


def test_rules_count_customers_on_every_engine(database: Database) -> None:
    _seed(database)
    with database.session() as session:
        assert count_rule(session, 'tag = "vip"') == 2
        assert count_rule(session, 'tag = "vip" and country = "US"') == 1
        assert count_rule(session, 'tag != "vip"') == 2
        assert count_rule(session, "orders >= 2") == 2
        assert count_rule(session, "revenue > 150") == 2
        assert count_rule(session, "country is null") == 1
        assert count_rule(session, 'tag in ("wholesale", "nobody")') == 1
        assert count_rule(session, "days_since_last_order > 30") == 3
        assert count_rule(session, "churn_risk > 0.5") == 0  # no churn run yet
        assert count_rule(session, "churn_risk is null") == 4


def test_injection_attempts_are_plain_values(database: Database) -> None:
    _seed(database)
    with database.session() as session:
        assert count_rule(session, "tag = \"x' OR '1'='1\"") == 0
        assert count_rule(session, 'country = "US\\" OR 1=1 --"') == 0
        with pytest.raises(RuleSyntaxError):
            count_rule(session, "orders > 1; DELETE FROM customers")
        assert session.scalar(select(func.count(Customer.id))) == 4


def test_saved_rule_segments_are_listed_with_live_counts(sqlite_database: Database) -> None:
    _seed(sqlite_database)
    with sqlite_database.session() as session:
        _segment, count = save_rule_segment(session, "VIPs", 'tag = "vip"', "test")
        assert count == 2
        save_rule_segment(session, "VIPs", 'tag = "vip" and country = "US"', "test")
    with sqlite_database.session() as session:
        rows = {r["name"]: r for r in list_segments(session)}
        assert rows["VIPs"]["customers"] == 1
        assert rows["VIPs"]["kind"] == "rule"
        assert len(customers_matching(session, rows["VIPs"]["rule"])) == 1
        with pytest.raises(RuleSyntaxError):
            save_rule_segment(session, "broken", "orders >", "test")


def test_rule_segments_cannot_take_an_analytics_segment_name(sqlite_database: Database) -> None:
    from soloist.storage.models import Segment

    with sqlite_database.session() as session:
        session.add(Segment(name="champions", kind="rfm"))
        session.flush()
        with pytest.raises(ConflictError):
            save_rule_segment(session, "champions", "orders > 1", "test")
