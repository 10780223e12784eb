"""The bundled data sets load as documented and match the copies in tests/data."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pandas as pd

from soloist.analytics.datasets import load_cdnow_summary

CDNOW_SHA256 = "09d92ca80daaabe8be0f997d4c539f9c9606106baa5b199081fe01cbce5fa9f6"


def test_the_cdnow_summary_is_package_data_with_the_published_checksum() -> None:
    source = resources.files("soloist.analytics.datasets").joinpath("cdnow_customers_summary.csv")
    assert source.is_file()
    assert hashlib.sha256(source.read_bytes()).hexdigest() == CDNOW_SHA256


def test_load_cdnow_summary_has_the_shape_of_an_rfm_summary(cdnow_summary: pd.DataFrame) -> None:
    summary = load_cdnow_summary()
    assert summary.index.name == "ID"
    assert list(summary.columns) == ["frequency", "recency", "T"]
    assert (summary.dtypes == np.float64).all()
    assert len(summary) == 2357
    pd.testing.assert_frame_equal(summary, cdnow_summary.astype(np.float64))


def test_load_cdnow_summary_agrees_with_rfm_summary_of_the_raw_sample(
    sample_holdout_summary: pd.DataFrame,
) -> None:
    summary = load_cdnow_summary()
    ours = sample_holdout_summary[["frequency", "recency", "T"]]
    assert ours.index.equals(summary.index)
    np.testing.assert_array_equal(ours["frequency"], summary["frequency"])
    # the published file is rounded to two decimals
    np.testing.assert_allclose(ours[["recency", "T"]], summary[["recency", "T"]], atol=5e-3)


def test_each_call_returns_a_fresh_frame() -> None:
    first = load_cdnow_summary()
    first.loc[1, "frequency"] = -1.0
    assert load_cdnow_summary().loc[1, "frequency"] == 2.0
