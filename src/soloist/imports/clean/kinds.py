"""Which cleaner reads which kind of file, and :func:`clean_table`, the one way in."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from soloist.imports.base import ImportFormat
from soloist.imports.clean.activity import clean_feedback, clean_interactions, clean_subscriptions
from soloist.imports.clean.customers import clean_customers
from soloist.imports.clean.drafts import Cleaned, CleanOptions
from soloist.imports.clean.orders import clean_orders
from soloist.imports.clean.quality import future_dates, missing_and_duplicates
from soloist.imports.raw import RawTable

# The cleaner of one kind: reads the table's records through the format and fills ``Cleaned``.
Cleaner = Callable[[RawTable, ImportFormat, Mapping[str, int], CleanOptions, Cleaned], None]

CLEANERS: dict[str, Cleaner] = {
    "customers": clean_customers,
    "orders": clean_orders,
    "subscriptions": clean_subscriptions,
    "interactions": clean_interactions,
    "feedback": clean_feedback,
}


def clean_table(
    table: RawTable, fmt: ImportFormat, kind: str, mapping: Mapping[str, int], options: CleanOptions
) -> Cleaned:
    """Typed rows, issues and quality measures of ``table`` read as ``kind`` through ``fmt``
    (``mapping``: field -> column index)."""
    out = Cleaned(kind=kind, rows_read=len(table.rows))
    missing_and_duplicates(table, out)
    CLEANERS[kind](table, fmt, mapping, options, out)
    future_dates(out)
    return out
