"""The end of the data an analysis uses (``--end-date``), one rule for every analysis."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from soloist.errors import ValidationError


def end_of_day(day: dt.date) -> pd.Timestamp:
    """The last moment of ``day`` (naive UTC, to the second), a run's ``data_end``."""
    return pd.Timestamp(day) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)


def checked_end_date(day: dt.date | None) -> dt.date | None:
    """``day`` unless it is in the future: an analysis looks only at what has happened."""
    if day is not None and day > dt.datetime.now(dt.UTC).date():
        raise ValidationError(
            f"The end date {day:%Y-%m-%d} is in the future; the analysis can only look at "
            "what has happened.",
            field="end_date",
        )
    return day
