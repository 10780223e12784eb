"""Any CSV, TSV or Excel table whose columns are named in English or Chinese (see synonyms)."""

from __future__ import annotations

from typing import ClassVar

from soloist.imports.base import TableFormat
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import KINDS


class GenericFormat(TableFormat):
    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "CSV/TSV/Excel with named columns"
    source: ClassVar[str] = "file"
    kinds: ClassVar[tuple[str, ...]] = KINDS

    def detect(self, table: RawTable) -> bool:
        return True
