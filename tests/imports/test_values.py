"""Reading dates, amounts and statuses as people type them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soloist.imports.columns import iso_utc_times
from soloist.imports.values import parse_amount, parse_country, parse_datetime, parse_order_status


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"),
    [
        ("2024-01-05", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("2024-01-05 10:14:12 +0100", False, dt.datetime(2024, 1, 5, 9, 14, 12, tzinfo=dt.UTC)),
        ("2024/1/5", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("05.01.2024", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("20240105", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("45296", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("1/5/2024", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("5/1/2024", True, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("2024年1月5日", False, dt.datetime(2024, 1, 5, tzinfo=dt.UTC)),
        ("12/1/2010 8:26", False, dt.datetime(2010, 12, 1, 8, 26, tzinfo=dt.UTC)),
    ],
)
def test_dates_in_every_common_form_are_read(
    text: str, dayfirst: bool, expected: dt.datetime
) -> None:
    assert parse_datetime(text, dayfirst=dayfirst) == expected


@pytest.mark.parametrize("text", ["2024-13-01", "yesterday", "31.02.2024", "12"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_datetime(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("$12", Decimal("12")),
        ("￥1,280.00", Decimal("1280.00")),
        ("12,50 €", Decimal("12.50")),
        ("1.234,56", Decimal("1234.56")),
        ("(3.00)", Decimal("-3.00")),
        ("-5", Decimal("-5")),
        ("EUR 7.10", Decimal("7.10")),
        ("0.1", Decimal("0.1")),
    ],
)
def test_amounts_become_exact_decimals(text: str, expected: Decimal) -> None:
    value = parse_amount(text)
    assert isinstance(value, Decimal)
    assert value == expected


@pytest.mark.parametrize("text", ["abc", "1.2.3", "$", "12..5"])
def test_non_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(text)


def test_statuses_in_english_chinese_and_woocommerce_form_are_understood() -> None:
    assert parse_order_status("wc-completed") == "paid"
    assert parse_order_status("已退款") == "refunded"
    assert parse_order_status("Voided") == "cancelled"
    with pytest.raises(ValueError, match="unknown order status"):
        parse_order_status("teleported")


def test_country_names_become_iso_codes() -> None:
    assert parse_country("United Kingdom") == "GB"
    assert parse_country("EIRE") == "IE"
    assert parse_country("德国") == "DE"
    assert parse_country("pt") == "PT"


def test_times_are_read_in_the_given_zone_and_an_unknown_zone_is_named() -> None:
    shanghai = parse_datetime("2024-01-05 08:00", tz="Asia/Shanghai")
    assert shanghai == dt.datetime(2024, 1, 5, 0, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        parse_datetime("2024-01-05", tz="Mars/Olympus")


def _padded(low: int, high: int, width: int) -> st.SearchStrategy[str]:
    """Numbers around a field's range, mostly zero-padded to its width, sometimes not."""
    number = st.integers(min_value=low, max_value=high)
    return st.one_of(number.map(lambda n: str(n).zfill(width)), number.map(str))


_DATEISH = st.one_of(
    st.builds(
        lambda y, mo, d, sep, h, mi, sec: f"{y}-{mo}-{d}{sep}{h}:{mi}{sec}",
        _padded(0, 9999, 4),
        _padded(0, 13, 2),
        _padded(0, 32, 2),
        st.sampled_from([" ", "T", "t", "  "]),
        _padded(0, 25, 2),
        _padded(0, 61, 2),
        st.one_of(st.just(""), _padded(0, 61, 2).map(lambda s: ":" + s)),
    ),
    st.builds(
        lambda y, mo, d: f"{y}-{mo}-{d}", _padded(0, 9999, 4), _padded(0, 13, 2), _padded(0, 32, 2)
    ),
    st.text(alphabet="0123456789-: T.Z+", max_size=22),
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_DATEISH, min_size=1, max_size=30))
def test_the_vectorised_iso_reading_agrees_with_the_date_parser(texts: list[str]) -> None:
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    quick = frame.select(iso_utc_times(pl.col("text"))).to_series().to_list()
    for text, value in zip(texts, quick, strict=True):
        if value is not None:  # the others are left to parse_datetime
            assert parse_datetime(text) == value, text


def test_the_vectorised_iso_reading_reads_the_common_shapes_and_leaves_the_rest() -> None:
    texts = ["2024-01-05", "2024-01-05 10:14", "2024-01-05T10:14:12", "2024-02-30", "5.1.2024"]
    frame = pl.DataFrame({"text": texts})
    quick = frame.select(iso_utc_times(pl.col("text"))).to_series().to_list()
    assert quick[:3] == [parse_datetime(text) for text in texts[:3]]
    assert quick[3:] == [None, None]
