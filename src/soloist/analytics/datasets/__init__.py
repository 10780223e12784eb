"""Small reference data sets shipped with :mod:`soloist.analytics`, as ``lifetimes.datasets``.

The files are package data read with :mod:`importlib.resources`, so they work from a wheel or
a zip as well as from a source checkout.

``cdnow_customers_summary.csv``
    The 39-week calibration summary of the CDNOW 1/10 sample (2,357 customers who first bought
    in the first quarter of 1997), the data set on which Fader, Hardie & Lee (2005) and the
    rest of the "buy till you die" literature report their estimates. Distributed by Bruce
    Hardie for research use; this copy comes from the MIT-licensed ``lifetimes`` package
    (0.11.3). sha256 ``09d92ca80daaabe8be0f997d4c539f9c9606106baa5b199081fe01cbce5fa9f6``.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load_cdnow_summary"]


def load_cdnow_summary() -> pd.DataFrame:
    """The CDNOW sample's calibration summary, in weeks (2,357 customers).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer ``ID`` (1..2357), with the float columns ``frequency`` (repeat
        purchases), ``recency`` (weeks from the first to the last purchase) and ``T`` (weeks
        from the first purchase to the end of the calibration period, 1997-09-30) — the shape
        :func:`~soloist.analytics.rfm_summary` returns, without ``monetary_value``. Values are
        rounded to two decimals, as published.

    Examples
    --------
    >>> from soloist.analytics.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> summary.head(3)  # doctest: +NORMALIZE_WHITESPACE
        frequency  recency      T
    ID
    1         2.0    30.43  38.86
    2         1.0     1.71  38.86
    3         0.0     0.00  38.86
    >>> len(summary), int(summary["frequency"].sum())  # customers, repeat purchases
    (2357, 2457)
    """
    import numpy as np
    import pandas as pd

    source = resources.files(__name__).joinpath("cdnow_customers_summary.csv")
    with source.open("rb") as handle:
        frame = pd.read_csv(handle, index_col="ID")
    return frame.astype(np.float64)
