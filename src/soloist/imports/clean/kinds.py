"""Which cleaner reads which kind of file, and :func:`clean_table`, the one way in."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from soloist.imports.base import ImportFormat
from soloist.imports.clean.activity import clean_feedback, clean_interactions, clean_subscriptions
from soloist.imports.clean.customers import clean_customers
from soloist.imports.clean.drafts import Cleaned, CleanOptions
from soloist.imports.clean.orders import clean_orders
from soloist.imports.clean.quality import future_dates, missing_and_duplicates
from soloist.imports.raw import RawTable, refuse
from soloist.imports.synonyms import PREFERRED, field_for, header_key

# The cleaner of one kind: reads the table's records through the format and fills ``Cleaned``.
Cleaner = Callable[[RawTable, ImportFormat, Mapping[str, int], CleanOptions, Cleaned], None]

CLEANERS: dict[str, Cleaner] = {
    "customers": clean_customers,
    "orders": clean_orders,
    "subscriptions": clean_subscriptions,
    "interactions": clean_interactions,
    "feedback": clean_feedback,
}


def check_one_column_per_field(
    table: RawTable, fmt: ImportFormat, kind: str, mapping: Mapping[str, int], options: CleanOptions
) -> None:
    """Refuse a file where a field read by synonym (``邮箱`` and ``Email`` both mean e-mail) has
    a second column that means it too and is left unread: which one holds the value? Columns
    the format names itself, columns the user mapped or left out (``--map``), and a field whose
    columns include one of its :data:`~soloist.imports.synonyms.PREFERRED` names (Taobao's
    买家实际支付金额 beside 总金额) are a choice already made."""
    known = {header_key(name) for name in getattr(fmt, "columns", {})}
    chosen = options.chosen_columns
    used = set(mapping.values())
    for target, index in mapping.items():
        name = table.header[index]
        preferred = {header_key(n) for n in PREFERRED.get(target, ())}
        if header_key(name) in known | preferred or name in chosen:
            continue
        for other, column in enumerate(table.header):
            if other in used or column in chosen or header_key(column) in known:
                continue
            if field_for(kind, column) == target:
                first, second = sorted((index, other))
                raise refuse(
                    table.path,
                    f"columns {first + 1} ({table.header[first]!r}) and {second + 1} "
                    f"({table.header[second]!r}) both mean {target}; name the one to read "
                    f"with --map COLUMN={target}, or rename or remove the other",
                    row=1,
                    column=table.header[second],
                )


def clean_table(
    table: RawTable, fmt: ImportFormat, kind: str, mapping: Mapping[str, int], options: CleanOptions
) -> Cleaned:
    """Typed rows, issues and quality measures of ``table`` read as ``kind`` through ``fmt``
    (``mapping``: field -> column index)."""
    check_one_column_per_field(table, fmt, kind, mapping, options)
    out = Cleaned(kind=kind, rows_read=len(table.rows))
    missing_and_duplicates(table, out)
    CLEANERS[kind](table, fmt, mapping, options, out)
    future_dates(out)
    return out
