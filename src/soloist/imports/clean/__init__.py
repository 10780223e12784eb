"""From records of text to typed, checked rows — the same for every format.

:func:`clean_table` types every value (dates, amounts in integer minor units, counts, countries,
statuses), names every bad cell by row and column, and measures the data's quality: missing
values per column, duplicate rows, negative, zero and unusually large amounts, dates in the
future. It never touches the database.

The domain imports from here, never from the modules: ``kinds`` (:func:`clean_table` and the
cleaner of each kind), ``drafts`` (what cleaning hands back), ``rows`` (reading one record's
cells), ``customers`` (who each row is about; the customers file), ``orders`` with
``order_cells`` and ``order_amounts`` (orders and lines, whole columns at a time), ``activity``
(subscriptions, interactions, feedback) and ``quality`` (the quality measures).
"""

from __future__ import annotations

from soloist.imports.clean.drafts import (
    LINE_SCHEMA,
    ORDER_SCHEMA,
    Cleaned,
    CleanOptions,
    CustomerRef,
    FeedbackDraft,
    InteractionDraft,
    Issue,
    SubscriptionDraft,
)
from soloist.imports.clean.kinds import CLEANERS, clean_table

__all__ = [
    "CLEANERS",
    "LINE_SCHEMA",
    "ORDER_SCHEMA",
    "CleanOptions",
    "Cleaned",
    "CustomerRef",
    "FeedbackDraft",
    "InteractionDraft",
    "Issue",
    "SubscriptionDraft",
    "clean_table",
]
