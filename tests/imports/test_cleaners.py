"""The cleaners of each kind share one way of naming the customer and one currency rule."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from soloist.imports import KINDS, read_table
from soloist.imports.base import TableFormat
from soloist.imports.clean import CLEANERS, Cleaned, CleanOptions, clean_table
from soloist.imports.clean.rows import NO_CUSTOMER


class _EuroShop(TableFormat):
    """A layout whose exports are in euros unless a row says otherwise."""

    name: ClassVar[str] = "euro-shop"
    source: ClassVar[str] = "euro"
    kinds: ClassVar[tuple[str, ...]] = KINDS
    default_currency: ClassVar[str | None] = "EUR"


def _clean(tmp_path: Path, kind: str, text: str, **options: object) -> Cleaned:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    fmt = _EuroShop()
    mapping = fmt.map_columns(table, kind)
    return clean_table(table, fmt, kind, mapping, CleanOptions(**options))  # type: ignore[arg-type]


def test_every_kind_has_its_cleaner() -> None:
    assert sorted(CLEANERS) == sorted(KINDS)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("customers", "name,company\n,Acme\n"),
        ("subscriptions", "email,plan,price,start\n,Pro,9.00,2024-01-01\n"),
        ("interactions", "email,channel,date\n,call,2024-01-01\n"),
        ("feedback", "email,nps,date\n,9,2024-01-01\n"),
    ],
)
def test_a_row_that_names_nobody_is_refused_in_the_same_words_in_every_kind(
    tmp_path: Path, kind: str, text: str
) -> None:
    cleaned = _clean(tmp_path, kind, text)
    assert [(e.row, e.message, e.reason) for e in cleaned.errors] == [
        (2, NO_CUSTOMER, "no customer")
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "EUR"),  # the format's own currency beats the workspace's
        ({"currency": "JPY", "currency_given": True}, "JPY"),  # --currency beats both
    ],
)
def test_a_row_without_a_currency_is_in_the_same_currency_for_orders_and_subscriptions(
    tmp_path: Path, options: dict[str, object], expected: str
) -> None:
    orders = _clean(
        tmp_path, "orders", "order id,email,date,total\n1,a@example.com,2024-01-05,10\n", **options
    )
    subscriptions = _clean(
        tmp_path,
        "subscriptions",
        "email,plan,price,start\na@example.com,Pro,9,2024-01-01\n",
        **options,
    )
    assert orders.orders["currency"].to_list() == [expected]
    assert [s.currency for s in subscriptions.subscriptions] == [expected]


def test_an_unknown_currency_is_named_the_same_way_for_orders_and_subscriptions(
    tmp_path: Path,
) -> None:
    orders = _clean(
        tmp_path,
        "orders",
        "order id,email,date,total,currency\n1,a@example.com,2024-01-05,10,XXY\n",
    )
    subscriptions = _clean(
        tmp_path,
        "subscriptions",
        "email,plan,price,start,currency\na@example.com,Pro,9,2024-01-01,XXY\n",
    )
    assert [e.message for e in orders.errors] == [e.message for e in subscriptions.errors]
    assert orders.errors[0].message == "unknown currency 'XXY' (use an ISO 4217 code such as USD)"
