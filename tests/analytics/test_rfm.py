"""rfm_summary: BTYD conventions, a plain-Python reference, input handling (the comparison
with lifetimes is in test_against_lifetimes.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soloist.analytics import AnalyticsError, rfm_summary


def test_rfm_summary_in_weeks_reproduces_the_published_cdnow_calibration_summary(
    sample_holdout_summary: pd.DataFrame, cdnow_summary: pd.DataFrame
) -> None:
    ours = sample_holdout_summary.loc[cdnow_summary.index]
    np.testing.assert_array_equal(ours["frequency"], cdnow_summary["frequency"])
    # the published file rounds to 2 decimals
    np.testing.assert_allclose(ours["recency"], cdnow_summary["recency"], atol=0.0051)
    np.testing.assert_allclose(ours["T"], cdnow_summary["T"], atol=0.0051)


def test_weeks_are_exactly_seven_days_and_the_last_day_counts() -> None:
    tx = pd.DataFrame(
        {
            "c": ["a", "a", "a", "a", "b"],
            "d": pd.to_datetime(
                [
                    "1997-01-01 00:00",
                    "1997-01-01 18:00",
                    "1997-02-05 00:00",
                    "1997-09-30 23:59",
                    "1997-10-01 00:00",
                ]
            ),
            "v": [10.0, 5.0, 20.0, 40.0, 7.0],
        }
    )
    out = rfm_summary(tx, "c", "d", "v", "1997-09-30", time_unit="W")
    assert list(out.index) == ["a"]  # b's only purchase is after the end
    row = out.loc["a"]
    assert row["frequency"] == 2  # the two Jan 1 purchases collapse into one
    assert row["T"] == pytest.approx(272 / 7)
    assert row["T"] == pytest.approx(38.857, abs=5e-4)
    assert row["recency"] == pytest.approx(272 / 7)
    assert row["monetary_value"] == pytest.approx((20 + 40) / 2)


def test_calibration_end_splits_holdout_and_drops_late_first_purchases() -> None:
    tx = pd.DataFrame(
        {
            "c": [1, 1, 1, 1, 2, 3],
            "d": pd.to_datetime(
                ["2024-01-01", "2024-01-11", "2024-02-02", "2024-02-02", "2024-01-05", "2024-02-01"]
            ),
            "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    out = rfm_summary(tx, "c", "d", "v", "2024-02-29", calibration_end="2024-01-31")
    assert list(out.index) == [1, 2]
    assert out.loc[1, "frequency"] == 1
    assert out.loc[1, "recency"] == 10
    assert out.loc[1, "T"] == 30
    assert out.loc[1, "frequency_holdout"] == 1
    assert out.loc[1, "monetary_value_holdout"] == 7.0
    assert out.loc[2, "frequency_holdout"] == 0
    assert (out["duration_holdout"] == 29).all()


def test_polars_and_pandas_inputs_give_identical_summaries(cdnow_sample: pd.DataFrame) -> None:
    from_pandas = rfm_summary(cdnow_sample, "customer", "date", "amount", "1997-09-30")
    from_polars = rfm_summary(
        pl.from_pandas(cdnow_sample), "customer", "date", "amount", "1997-09-30"
    )
    pd.testing.assert_frame_equal(from_pandas, from_polars)


def test_weekly_periods_collapse_purchases_in_the_same_monday_based_week() -> None:
    tx = pl.DataFrame(
        {
            "c": [1, 1, 1],
            "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 7), dt.date(2024, 1, 8)],
            "v": [1.0, 2.0, 3.0],
        }
    )
    out = rfm_summary(tx, "c", "d", "v", dt.date(2024, 1, 20), period="W", time_unit="W")
    assert out.loc[1, "frequency"] == 1
    assert out.loc[1, "recency"] == 1
    assert out.loc[1, "T"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "Y"}, "period"),
        ({"time_unit": "M"}, "time_unit"),
        ({"amount_col": "nope"}, "nope"),
        ({"calibration_end": "2030-01-01"}, "calibration_end"),
    ],
)
def test_bad_arguments_raise_a_named_analytics_error(kwargs: dict[str, Any], message: str) -> None:
    tx = pd.DataFrame({"c": [1], "d": pd.to_datetime(["2024-01-01"]), "v": [1.0]})
    args: dict[str, Any] = {"amount_col": "v", "observation_end": "2024-02-01"}
    args.update(kwargs)
    with pytest.raises(AnalyticsError, match=message):
        rfm_summary(tx, "c", "d", **args)


def test_empty_transactions_are_rejected() -> None:
    tx = pd.DataFrame({"c": [], "d": pd.to_datetime([]), "v": []})
    with pytest.raises(AnalyticsError, match="empty"):
        rfm_summary(tx, "c", "d", "v", "2024-01-01")


def _reference(rows: list[tuple[int, int, float]], end: int) -> dict[int, tuple[float, ...]]:
    """Plain-Python BTYD summary (days as integers), the definition spelled out."""
    by_customer: dict[int, dict[int, float]] = {}
    for c, day, v in rows:
        if day <= end:
            by_customer.setdefault(c, {}).setdefault(day, 0.0)
            by_customer[c][day] += v
    out = {}
    for c, days in by_customer.items():
        ordered = sorted(days)
        repeat = [days[d] for d in ordered[1:]]
        out[c] = (
            float(len(ordered) - 1),
            float(ordered[-1] - ordered[0]),
            float(end - ordered[0]),
            float(np.mean(repeat)) if repeat else 0.0,
        )
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5), st.integers(0, 60), st.floats(0, 1000, allow_nan=False).map(round)
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 60),
)
def test_rfm_summary_agrees_with_a_plain_python_reference(
    rows: list[tuple[int, int, float]], end: int
) -> None:
    origin = dt.datetime(2020, 3, 1)
    tx = pl.DataFrame(
        {
            "c": [r[0] for r in rows],
            "d": [origin + dt.timedelta(days=r[1], hours=r[1] % 7) for r in rows],
            "v": [float(r[2]) for r in rows],
        }
    )
    expected = _reference(rows, end)
    if not expected:
        with pytest.raises(AnalyticsError):
            rfm_summary(tx, "c", "d", "v", origin + dt.timedelta(days=end))
        return
    out = rfm_summary(tx, "c", "d", "v", origin + dt.timedelta(days=end))
    assert sorted(expected) == list(out.index)
    for c, values in expected.items():
        np.testing.assert_allclose(out.loc[c].to_numpy(), values, rtol=1e-12)


@pytest.mark.parametrize(("period", "time_unit"), [("D", "D"), ("W", "W"), ("M", "D"), ("h", "h")])
@pytest.mark.parametrize("calibration", [False, True])
def test_numpy_fast_path_equals_the_polars_path(
    monkeypatch: pytest.MonkeyPatch, period: str, time_unit: str, calibration: bool
) -> None:
    from soloist.analytics import rfm as rfm_module

    rng = np.random.default_rng(5)
    n = 3000
    base = np.datetime64("1969-11-20T00:00:00")  # crosses the epoch: flooring must hold
    seconds = 86_400 * (5 if period == "h" else 300)
    tx = pd.DataFrame(
        {
            "c": rng.integers(-5, 200, n),
            "d": base + rng.integers(0, seconds, n).astype("timedelta64[s]"),
            "v": rng.gamma(2.0, 20.0, n).round(2),
        }
    )
    end = base + np.timedelta64(int(seconds * 0.9), "s")
    cal = base + np.timedelta64(int(seconds * 0.6), "s") if calibration else None
    args = ("c", "d", "v", pd.Timestamp(end))
    kwargs: dict[str, Any] = {"period": period, "time_unit": time_unit}
    if cal is not None:
        kwargs["calibration_end"] = pd.Timestamp(cal)
    assert rfm_module._numpy_inputs(tx, ["c", "d", "v"]) is not None
    fast = rfm_summary(tx, *args, **kwargs)
    monkeypatch.setattr(rfm_module, "_numpy_inputs", lambda *_: None)
    slow = rfm_summary(tx, *args, **kwargs)
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(fast[col].to_numpy(), slow[col].to_numpy())
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-13)


@pytest.mark.parametrize("calibration", [False, True])
def test_sparse_and_dense_customer_ids_give_the_same_summary(
    monkeypatch: pytest.MonkeyPatch, calibration: bool
) -> None:
    """Compact ids take the dense path (per-customer arrays indexed by id), sparse ids the
    sorted path; both give the same summary."""
    from soloist.analytics import rfm as rfm_module

    rng = np.random.default_rng(11)
    n = 5000
    ids = rng.integers(0, 400, n)
    tx = pd.DataFrame(
        {
            "c": ids,
            "d": np.datetime64("2021-01-01") + rng.integers(0, 200, n).astype("timedelta64[D]"),
            "v": rng.gamma(2.0, 20.0, n).round(2),
        }
    )
    sparse = tx.assign(c=ids * 10**12 + 3)  # id range far above the number of rows
    kwargs: dict[str, Any] = {"calibration_end": "2021-05-01"} if calibration else {}
    calls: list[str] = []
    for name in ("_per_customer_dense", "_per_customer_sorted"):
        real = getattr(rfm_module, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(rfm_module, name, spy)
    dense_out = rfm_summary(tx, "c", "d", "v", "2021-07-01", **kwargs)
    sparse_out = rfm_summary(sparse, "c", "d", "v", "2021-07-01", **kwargs)
    assert calls == ["_per_customer_dense", "_per_customer_sorted"]
    np.testing.assert_array_equal(
        sparse_out.index.to_numpy(), dense_out.index.to_numpy() * 10**12 + 3
    )
    pd.testing.assert_frame_equal(
        sparse_out.reset_index(drop=True),
        dense_out.reset_index(drop=True),
        check_exact=False,
        rtol=1e-13,
    )
