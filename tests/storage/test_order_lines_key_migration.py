"""Migration 3c8e1a6f5b20: the order lines' key (order_id, line_no) becomes a unique index of the
same name; up, down and up again on every engine, with lines in the table, and a repeated line
number refused at every step."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.database import create_database_engine
from soloist.storage.migrate import current_revision, downgrade_database, upgrade_database
from soloist.storage.models import Customer, Order, OrderLine

REVISION, BEFORE = "3c8e1a6f5b20", "1f3b5d7a9c02"
NAME = "uq_order_lines_order_id_line_no"
LINE = (
    "INSERT INTO order_lines (order_id, line_no, quantity, unit_price_minor, amount_minor) "
    "VALUES (1, {line_no}, 1, 100, 100)"
)


def _unique_keys(engine: Engine) -> tuple[list[list[str]], list[list[str]]]:
    """The (order_id, line_no) keys held as unique indexes and as unique constraints."""
    found = inspect(engine)
    indexes = [
        list(index["column_names"])
        for index in found.get_indexes("order_lines")
        if index["name"] == NAME and index["unique"]
    ]
    constraints = [
        list(constraint["column_names"])
        for constraint in found.get_unique_constraints("order_lines")
        if constraint["name"] == NAME
    ]
    return indexes, constraints


def _refuses_a_repeated_line(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(LINE.format(line_no=1)))


def test_the_order_lines_key_goes_up_down_and_up_again(empty_database_url: str) -> None:
    engine = create_database_engine(
        empty_database_url, Keyring.from_master_key(generate_master_key())
    )
    try:
        upgrade_database(engine, BEFORE)
        with Session(engine) as session, session.begin():
            customer = Customer(name="Ana")
            session.add(customer)
            session.flush()
            order = Order(
                id=1,
                external_id="A-1",
                customer_id=customer.id,
                currency="EUR",
                total_minor=200,
                ordered_at=dt.datetime(2024, 1, 5, 10, tzinfo=dt.UTC),
            )
            session.add(order)
            session.flush()
            for line_no in (1, 2):
                session.add(
                    OrderLine(
                        order_id=1,
                        line_no=line_no,
                        quantity=1,
                        unit_price_minor=100,
                        amount_minor=100,
                    )
                )
        upgrade_database(engine, REVISION)
        indexes, _ = _unique_keys(engine)
        assert indexes == [["order_id", "line_no"]]
        _refuses_a_repeated_line(engine)
        downgrade_database(engine, BEFORE)
        assert current_revision(engine) == BEFORE
        indexes, constraints = _unique_keys(engine)
        assert constraints == [["order_id", "line_no"]] or indexes == [["order_id", "line_no"]]
        _refuses_a_repeated_line(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM order_lines")).scalar() == 2
        upgrade_database(engine, REVISION)
        assert _unique_keys(engine)[0] == [["order_id", "line_no"]]
        _refuses_a_repeated_line(engine)
    finally:
        engine.dispose()
