"""The CDNOW purchase log of the "buy till you die" literature: whitespace-separated customer id,
date (YYYYMMDD), number of CDs and dollar value — with or without the header line, and the
five-column 1/10 sample (master id, sample id, date, CDs, dollars).

The log has no order numbers: each line is one purchase, its id the customer, the time and its
position among that customer's purchases at that time in the file
(``cdnow:00001:19970101T000000:1``), as for every file without order numbers.
"""

from __future__ import annotations

import re
from typing import ClassVar

from soloist.imports.base import TableFormat
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import header_key

_DATE = re.compile(r"^(19|20)\d{6}$")
_NAMES = {"customerid", "date", "numberofcds", "dollarvalue"}


class CdnowLog(TableFormat):
    name: ClassVar[str] = "cdnow"
    label: ClassVar[str] = "CDNOW purchase log (whitespace separated)"
    source: ClassVar[str] = "cdnow"
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    default_currency: ClassVar[str | None] = "USD"

    def detect(self, table: RawTable) -> bool:
        if table.container != "whitespace":
            return False
        if {header_key(c) for c in table.header} >= _NAMES:
            return True
        width = len(table.header)
        sample = table.rows[:20]
        date_column = 1 if width == 4 else 2
        return (
            not table.has_header
            and width in (4, 5)
            and bool(sample)
            and sum(1 for row in sample if len(row) == width and _DATE.match(row[date_column]))
            >= 0.8 * len(sample)
        )

    def map_columns(self, table: RawTable, kind: str) -> dict[str, int]:
        if len(table.header) >= 5:
            return {"customer_id": 0, "ordered_at": 2, "quantity": 3, "line_amount": 4}
        return {"customer_id": 0, "ordered_at": 1, "quantity": 2, "line_amount": 3}
