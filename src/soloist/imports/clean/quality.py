"""The quality measures of a file, reported beside what it imports: missing values per column,
duplicate rows, negative, zero and unusually large amounts, and dates in the future."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from soloist.imports.clean.drafts import Cleaned
from soloist.imports.raw import RawTable

HUGE_FACTOR = 100  # an amount over 100 × the median is reported as an outlier


def missing_and_duplicates(table: RawTable, out: Cleaned) -> None:
    """Blank cells per column and rows repeated exactly, counted on the file as read."""
    if table.frame is not None:
        frame = table.frame
        out.duplicate_rows = repeated_rows(frame)
        # One column at a time: a stripped copy of every column at once would double the
        # memory a large file takes.
        counts = [int((table.stripped_series(i) == "").sum()) for i in range(frame.width)]
    else:
        counts = [0] * len(table.header)
        seen: set[tuple[str, ...]] = set()
        for row in table.rows:
            key = tuple(row)
            if key in seen:
                out.duplicate_rows += 1
            else:
                seen.add(key)
            for index, cell in enumerate(row[: len(counts)]):
                if not cell.strip():
                    counts[index] += 1
    out.missing_values = {
        name or f"column{i + 1}": n
        for i, (name, n) in enumerate(zip(table.header, counts, strict=True))
        if n
    }


def repeated_rows(frame: pl.DataFrame) -> int:
    """How many rows of ``frame`` repeat an earlier one exactly. The rows are hashed first and
    only those whose hash repeats are compared whole (``n_unique`` of every row of a large file
    would take several times its memory); rows of a hash seen once are unique for certain, so
    the count is exact."""
    if not frame.height:
        return 0
    candidates = frame.filter(frame.hash_rows().is_duplicated())
    return candidates.height - candidates.n_unique() if candidates.height else 0


def future_dates(out: Cleaned) -> None:
    """Count the rows dated more than a day ahead (a clock or a day-first mix-up)."""
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    dates = [s.started_at for s in out.subscriptions]
    dates += [i.occurred_at for i in out.interactions] + [f.at for f in out.feedback]
    future = sum(1 for moment in dates if moment > now)
    future += out.orders.filter(pl.col("ordered_at") > now).height
    if future:
        out.outliers["future_dates"] = future


def amount_outliers(amounts: pl.DataFrame) -> dict[str, Any]:
    """Negative, zero and unusually large amounts (over ``HUGE_FACTOR`` × the median of the
    positive ones) among the ``minor`` amounts, with the first five rows of each."""
    minor = pl.col("minor")
    positive = amounts.filter(minor > 0)["minor"]
    median: float | int = 0
    if positive.len():
        value = positive.median()
        assert isinstance(value, float | int)
        median = int(value) if positive.len() % 2 else value  # as statistics.median gives it
    negative = amounts.filter(minor < 0)["row"]
    zero = amounts.filter(minor == 0)["row"]
    huge = amounts.filter(minor > HUGE_FACTOR * median)["row"] if median else negative.clear()
    return {
        "negative_amounts": negative.len(),
        "zero_amounts": zero.len(),
        "huge_amounts": huge.len(),
        "huge_threshold_minor": HUGE_FACTOR * median if median else None,
        "examples": {
            "negative": negative.head(5).to_list(),
            "zero": zero.head(5).to_list(),
            "huge": huge.head(5).to_list(),
        },
    }
