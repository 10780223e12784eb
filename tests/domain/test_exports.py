"""Exports a spreadsheet opens safely: no cell runs as a formula, and a control character in a
record no longer breaks the XLSX export (it did on the demo workspace, issue 18)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.exports import csv_safe, export_records
from soloist.storage.database import Database

HOSTILE = {
    '=HYPERLINK("http://evil.example","click")': '\'=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
}
KEPT = [("\t=1+1", "'\t=1+1"), ("-12.50", "-12.50"), ("+44", "+44"), ("Ada", "Ada"), (-3, -3)]


@pytest.mark.parametrize(("text", "written"), [*HOSTILE.items(), *KEPT])
def test_a_csv_cell_is_a_formula_never_a_number_never_changed(
    text: object, written: object
) -> None:
    assert csv_safe(text) == written


def test_exported_customers_open_as_text_in_csv_and_xlsx(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with sqlite_database.session() as session:
        for n, name in enumerate(HOSTILE):
            create_customer(session, CustomerCreate(name=name, external_id=f"c{n}"), "t")
        create_customer(
            session, CustomerCreate(name="Bell\x07 and\x1b escape", company="=1+1 Ltd"), "t"
        )
    with sqlite_database.session() as session:
        export_records(session, "customers", tmp_path / "c.csv", actor="t")
        export_records(session, "customers", tmp_path / "c.xlsx", actor="t")

    with (tmp_path / "c.csv").open(encoding="utf-8", newline="") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    assert names[: len(HOSTILE)] == list(HOSTILE.values())
    assert not any(name.startswith(("=", "+", "-", "@", "\t")) for name in names)

    sheet = load_workbook(tmp_path / "c.xlsx")["data"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (c for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [r["name"].value for r in rows[: len(HOSTILE)]] == list(HOSTILE)  # exactly as typed
    assert all(r["name"].data_type == "s" for r in rows)  # text, not a live formula
    assert rows[-1]["name"].value == "Bell and escape"
    assert rows[-1]["company"].value == "=1+1 Ltd"
    assert rows[-1]["company"].data_type == "s"
