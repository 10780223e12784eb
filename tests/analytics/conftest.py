"""Shared fixtures: the CDNOW data sets shipped in tests/data."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from soloist.analytics import rfm_summary

DATA = Path(__file__).resolve().parents[1] / "data"
CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


@contextmanager
def quiet() -> Iterator[None]:
    """Silence third-party (lifetimes/pandas) warnings; the suite treats warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """The published 39-week calibration summary of the CDNOW sample (weeks)."""
    return pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="session")
def cdnow_sample() -> pd.DataFrame:
    """CDNOW 1/10 sample transactions; ``customer`` is the sample id (1..2357)."""
    df = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "amount"],
        dtype={"date": str},
    )
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


@pytest.fixture(scope="session")
def cdnow_master() -> pd.DataFrame:
    df = pd.read_csv(DATA / "CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


@pytest.fixture(scope="session")
def sample_holdout_summary(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    """Calibration (39 weeks) / holdout (39 weeks) summary of the sample, in weeks."""
    return rfm_summary(
        cdnow_sample,
        "customer",
        "date",
        "amount",
        OBSERVATION_END,
        calibration_end=CALIBRATION_END,
        time_unit="W",
    )


@pytest.fixture(name="quiet")
def quiet_fixture() -> object:
    """The :func:`quiet` context manager, for tests that call lifetimes."""
    return quiet


def counting_fits(make: Callable[..., Any], seen: list[int]) -> Callable[..., Any]:
    """``make`` (a model factory), its models noting in ``seen`` how many rows each fit
    learns from."""

    def made(*args: Any, **kwargs: Any) -> Any:
        model = make(*args, **kwargs)
        fit = model.fit

        def counted(matrix: Any, target: Any) -> Any:
            seen.append(len(matrix))
            return fit(matrix, target)

        model.fit = counted
        return model

    return made
