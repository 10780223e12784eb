"""Broken files, made as a new user's mistakes make them: each is refused whole with one error
naming the file (and the row and column where there is one place), and nothing is written."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.imports.import_helpers import snapshot

from soloist.config import load_settings
from soloist.domain.imports.pipeline import ImportOptions, ImportReport, import_file
from soloist.errors import ImportRefusedError
from soloist.imports import FORMATS, KINDS, read_table
from soloist.imports.clean import CleanOptions, clean_table
from soloist.imports.raw import ReadLimits
from soloist.storage.database import Database

DATA = Path(__file__).parents[1] / "data"
SEEDS = sorted(
    p for p in DATA.iterdir() if p.suffix in (".csv", ".txt") and p.stat().st_size < 400_000
)
HEADER = "email,order id,quantity,unit price,date,description\n"


def orders(count: int = 5, start: int = 1) -> str:
    """Good order lines, one per customer and order."""
    return "".join(
        f"c{i}@example.com,{i},2,6.00,2024-01-{1 + i % 28:02d},coffee beans\n"
        for i in range(start, start + count)
    )


def _mangle(data: bytes, cuts: list[int], junk: bytes) -> bytes:
    for cut in cuts:
        position = cut % (len(data) + 1)
        data = data[:position] + junk + data[position + len(junk) // 2 :]
    return data


def _import(database: Database, kind: str, path: Path, **options: object) -> ImportReport:
    with database.session() as session:
        return import_file(session, kind, path, ImportOptions(**options), "test")  # type: ignore[arg-type]


def refused(database: Database, kind: str, path: Path, **options: object) -> ImportRefusedError:
    """The refusal of ``path``, checking that the database is as it was."""
    before = snapshot(database)
    with pytest.raises(ImportRefusedError) as caught:
        _import(database, kind, path, **options)
    assert snapshot(database) == before
    assert caught.value.message.startswith(f"{path.name}: ")
    return caught.value


@pytest.fixture
def with_data(sqlite_database: Database) -> Database:
    """A workspace that already holds orders: a refusal must leave them as they are."""
    path = DATA / "orders_gbk.csv"
    assert _import(sqlite_database, "orders", path, currency="CNY").imported == 3
    return sqlite_database


# --- files the reader refuses: one error, with its row and column where there is one -------

Maker = Callable[[Path], Path]


def _write(name: str, content: bytes | str | Callable[[], bytes]) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        data = content() if callable(content) else content
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return make


def _gzip_bomb(megabytes: int) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / "orders.csv.gz"
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b"," * 2**20
        with path.open("wb") as handle:
            for _ in range(megabytes):
                handle.write(packer.compress(block))
            handle.write(packer.flush())
        return path

    return make


def _workbook(columns: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([f"column {i}" for i in range(columns)])
    sheet.append(["x"] * columns)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _inflated_workbook() -> bytes:
    """A real workbook with a 64 MiB part of zeros added (a zip bomb in a .xlsx)."""
    buffer = io.BytesIO(_workbook(3))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * 64 * 2**20)
    return buffer.getvalue()


BIG = "x" * 1_100_000  # a megabyte-long cell
READER_CASES: dict[str, tuple[Maker, str, int | None, str | None, str]] = {
    # name: (file, kind, row, column, words of the message)
    "a megabyte-long cell": (
        _write("orders.csv", HEADER + orders() + f"z@example.com,9,1,2.00,2024-01-05,{BIG}\n"),
        "orders",
        7,
        "description",
        "a cell of more than 262,144 bytes",
    ),
    "a megabyte-long cell in a long file": (
        _write("orders.csv", HEADER + orders(1500) + f"z@example.com,9,1,2.00,2024-01-05,{BIG}\n"),
        "orders",
        1502,
        "description",
        "at most 256 KiB is read",
    ),
    "a quote never closed": (
        _write("orders.csv", HEADER + orders(2) + 'z@example.com,9,1,2.00,2024-01-05,"beans\n'),
        "orders",
        None,
        None,
        "ends inside a quoted cell that opens on line 4",
    ),
    "a quote never closed in a big file": (
        _write(
            "orders.csv",
            HEADER + 'z@example.com,9,1,2.00,2024-01-05,"beans\n' + orders(30_000),
        ),
        "orders",
        2,
        "description",
        "A quote that is never closed",
    ),
    "thousands of columns": (
        _write("orders.csv", HEADER.strip() + ",x" * 5000 + "\n" + orders(2)),
        "orders",
        1,
        None,
        "the header has 5,006 columns; at most 500",
    ),
    "a line of a million commas": (
        _write("orders.csv", HEADER + orders(2) + "," * 1_000_000 + "\n"),
        "orders",
        None,
        None,
        "line 4 has 1,000,001 cells",
    ),
    "a gzip bomb": (_gzip_bomb(64), "orders", None, None, "expands more than 100 times"),
    "a gzip file cut short": (
        _write("orders.csv.gz", gzip.compress((HEADER + orders(200)).encode())[:-100]),
        "orders",
        None,
        None,
        "a damaged gzip file (it is cut short)",
    ),
    "a file cut inside a quoted cell": (
        _write("orders.csv", HEADER + orders(3) + 'z@example.com,9,1,2.00,2024-01-05,"Kenya AA'),
        "orders",
        None,
        None,
        "the file ends inside a quoted cell",
    ),
    "a file cut right after a cell": (
        _write("orders.csv", HEADER + orders(3) + "z@example.com,9"),
        "orders",
        5,
        "quantity",
        "2 cells where the header has 6 columns: the file looks cut short",
    ),
    "a row with extra cells": (
        _write(
            "orders.csv",
            HEADER + orders(2) + "z@example.com,9,1,2.00,2024-01-05,Kenya, AA\n" + orders(2, 5),
        ),
        "orders",
        4,
        None,
        "7 cells where the header has 6 columns (the first extra one: ' AA'): a comma",
    ),
    "rows with missing cells": (
        _write("orders.csv", HEADER + "z@example.com,9,1,2.00\n" + orders(2) + "y@x.com,8\n"),
        "orders",
        2,
        "date",
        "4 cells where the header has 6 columns: a cell is missing, or a line break splits the "
        "row (also row 5)",
    ),
    "one name twice": (
        _write("people.csv", "Name,Email,Email\nAnn,ann@example.com,ann@example.org\n"),
        "customers",
        1,
        "Email",
        "columns 2 and 3 are both named 'Email'",
    ),
    "one name twice but for capitals": (
        _write("people.csv", "Name,name,email\nAnn,Ann Lee,ann@example.com\n"),
        "customers",
        1,
        "name",
        "columns 1 ('Name') and 2 ('name') have one name, capitals and spaces aside",
    ),
    "two names of one field": (
        _write("people.csv", "Name,邮箱,Email\nAnn,ann@example.com,ann@example.org\n"),
        "customers",
        1,
        "Email",
        "columns 2 ('邮箱') and 3 ('Email') both mean email",
    ),
    "a workbook of thousands of columns": (
        _write("people.xlsx", lambda: _workbook(3000)),
        "customers",
        1,
        None,
        "a row of 3,000 cells; at most 500 columns",
    ),
    "a workbook that expands a thousand times": (
        _write("people.xlsx", _inflated_workbook),
        "customers",
        None,
        None,
        "the workbook expands more than 100 times",
    ),
}


@pytest.mark.parametrize("case", READER_CASES)
def test_a_broken_file_is_refused_with_one_error_where_it_is(
    with_data: Database, tmp_path: Path, case: str
) -> None:
    make, kind, row, column, words = READER_CASES[case]
    error = refused(with_data, kind, make(tmp_path))
    assert words in error.message
    assert error.details["errors"] == [
        {"row": row, "column": column, "message": error.details["errors"][0]["message"]}
    ]
    where = ", ".join(
        [f"row {row}"] * (row is not None) + [f"column {column!r}"] * (column is not None)
    )
    assert error.message.startswith(f"{error.details['file']}: {where}")


@pytest.mark.slow
def test_a_gzip_bomb_of_a_gibibyte_is_stopped_early_in_little_memory(tmp_path: Path) -> None:
    """The issue's file: 1 MB of gzip holding 1 GiB of commas (it grew an import to 22.7 GB)."""
    import subprocess
    import sys

    bomb = _gzip_bomb(1024)(tmp_path)
    assert bomb.stat().st_size < 1_100_000
    small = _write("small.csv", HEADER + orders(3))(tmp_path)
    script = (
        "import resource, sys\n"
        "from soloist.errors import ImportRefusedError\n"
        "from soloist.imports import read_table\n"
        "try:\n"
        "    read_table(sys.argv[1])\n"
        "    print('read', end=' ')\n"
        "except ImportRefusedError as error:\n"
        "    print(error.message, end=' ')\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )

    def peak(path: Path) -> tuple[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
        )
        message, _, kib = done.stdout.rpartition(" ")
        return message, int(kib) * 1024

    baseline, refused_bomb = peak(small), peak(bomb)
    assert baseline[0] == "read"
    assert "expands more than 100 times" in refused_bomb[0]
    assert refused_bomb[1] - baseline[1] < 64 * 2**20  # not a gibibyte, nor 22.7 GB


def test_the_api_preview_refuses_a_gzip_bomb_with_a_read_token(
    sqlite_database: Database, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from soloist.app import create_app
    from soloist.domain.users import add_user, create_token

    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", "a long enough password", "test")
        _, read = create_token(session, "owner@example.com", "read", "test")
    bomb = _gzip_bomb(64)(tmp_path).read_bytes()
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        response = client.post(
            "/api/v1/imports/preview",
            data={"kind": "orders"},
            files={"file": ("orders.csv.gz", bomb, "application/gzip")},
            headers={"Authorization": f"Bearer {read}"},
        )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "import_refused"
    assert "expands more than 100 times" in response.json()["error"]["message"]


def test_the_limits_are_settings_with_the_readers_defaults(tmp_path: Path) -> None:
    configured = load_settings(tmp_path, environ={})
    assert ReadLimits.from_settings(configured) == ReadLimits()
    assert (ReadLimits().max_cell_bytes, ReadLimits().max_columns) == (256 * 1024, 500)
    tight = load_settings(tmp_path, environ={"SOLOIST_IMPORT_MAX_COLUMNS": "4"})
    wide = _write("wide.csv", "a,b,c,d,e\n1,2,3,4,5\n")(tmp_path)
    assert len(read_table(wide).header) == 5
    with pytest.raises(ImportRefusedError, match="the header has 5 columns; at most 4"):
        read_table(wide, ReadLimits.from_settings(tight))


def test_a_column_the_user_chose_settles_two_columns_of_one_field(tmp_path: Path) -> None:
    path = _write("people.csv", "Name,邮箱,Email\nAnn,ann@example.com,ann@example.org\n")(tmp_path)
    table = read_table(path)
    fmt = FORMATS.detect(table)
    mapping = {"name": 0, "email": 2}  # --map Email=email
    with pytest.raises(ImportRefusedError, match="both mean email"):
        clean_table(table, fmt, "customers", mapping, CleanOptions())
    chosen = CleanOptions(chosen_columns=frozenset({"Email"}))
    cleaned = clean_table(table, fmt, "customers", mapping, chosen)
    assert [ref.email for ref in cleaned.customers.values()] == ["ann@example.org"]


def test_map_settles_two_columns_of_one_field(sqlite_database: Database, tmp_path: Path) -> None:
    path = _write("people.csv", "Name,邮箱,Email\nAnn,ann@example.com,ann@example.org\n")(tmp_path)
    error = refused(sqlite_database, "customers", path)
    assert "name the one to read with --map COLUMN=email" in error.message
    report = _import(sqlite_database, "customers", path, mapping={"Email": "email"})
    assert (report.imported, report.mapping["email"]) == (1, "Email")
    assert (
        _import(sqlite_database, "customers", path, mapping={"Email": ""}).mapping["email"]
        == "邮箱"
    )


# --- text in an encoding that is not read ---------------------------------------------------

KOREAN = (
    "이름,이메일,전화,주소\n"
    "김민수,minsu@example.kr,010-1234-5678,서울특별시 강남구 테헤란로 123\n"
    "이지은,jieun@example.kr,010-2345-6789,부산광역시 해운대구 우동 45\n"
    "박서준,seojun@example.kr,010-3456-7890,경기도 성남시 분당구 정자동 7\n"
)
JAPANESE = (
    "名前,メール,住所\n"
    "山田太郎,yamada@example.jp,東京都新宿区西新宿2-8-1\n"
    "佐藤花子,sato@example.jp,大阪府大阪市北区梅田1-1\n"
)
RUSSIAN = (
    "Имя,Почта,Город\n"
    "Иван Петров,ivan@example.ru,Москва\n"
    "Мария Иванова,maria@example.ru,Санкт-Петербург\n"
)


@pytest.mark.parametrize(
    ("text", "codec", "named"),
    [
        (JAPANESE, "shift_jis", "Japanese in Shift-JIS"),
        (KOREAN, "euc_kr", "Korean in EUC-KR"),
        (KOREAN, "cp949", "Korean in EUC-KR"),
        (RUSSIAN, "koi8_r", "Russian in KOI8-R"),
        (RUSSIAN, "cp1251", "Russian in Windows-1251"),
    ],
)
def test_text_in_an_encoding_that_is_not_read_is_refused_not_read_as_mojibake(
    with_data: Database, tmp_path: Path, text: str, codec: str, named: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode(codec))
    error = refused(with_data, "customers", path)
    assert f"the text is not UTF-8: it looks like {named}" in error.message
    assert "Save the file as UTF-8" in error.message


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ((DATA / "orders_gbk.csv").read_bytes().decode("gb18030"), "gb18030"),
        ("客户,订单号,金额,日期\n张伟,1,12,2024-01-05\n李娜,2,13,2024-01-06\n", "gbk"),
        ("Kunde,E-Mail\nJürgen Müller,jm@example.de\nFrançoise Dupré,fd@example.fr\n", "cp1252"),
        ((DATA / "olist" / "olist_order_reviews_dataset.csv").read_text(), "cp1252"),
    ],
)
def test_chinese_and_western_legacy_text_still_reads(tmp_path: Path, text: str, codec: str) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(text.encode(codec, "ignore"))
    table = read_table(path)
    assert table.encoding == codec.replace("gbk", "gb18030")
    assert table.header == next(csv.reader(io.StringIO(text.encode(codec, "ignore").decode(codec))))


# --- cells a row cannot hold: invalid rows, which --skip-invalid leaves out ----------------


def _errors(error: ImportRefusedError) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in error.details["errors"]]


def test_invalid_emails_are_invalid_rows_wherever_they_stand(
    with_data: Database, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer id,email,order id,amount,date\n"
        "7,ann@example.com,1,12.00,2024-01-05\n"
        "7,ann@example,2,13.00,2024-01-06\n"  # the same customer: not only the first row counts
        "8,bob at example.com,3,9.00,2024-01-06\n"
        "9,cy@example.org,4,5.00,2024-01-07\n"
    )
    error = refused(with_data, "orders", path)
    assert _errors(error) == [
        (3, "email", "not an e-mail address: 'ann@example'"),
        (4, "email", "not an e-mail address: 'bob at example.com'"),
    ]
    report = _import(with_data, "orders", path, skip_invalid=True)
    assert (report.invalid, report.imported) == (2, 2)


def test_invalid_countries_are_invalid_rows_and_non_countries_are_left_blank(
    with_data: Database, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "name,email,country\n"
        "Ann,ann@example.com,Narnia\n"
        "Bob,bob@example.com,XX\n"
        "Cy,cy@example.com,Turkey\n"
        "Di,di@example.com,Hong Kong\n"
        "Ed,ed@example.com,Channel Islands\n"
        "Flo,flo@example.com,UK\n"
    )
    error = refused(with_data, "customers", path)
    assert [(row, column) for row, column, _ in _errors(error)] == [(2, "country"), (3, "country")]
    assert "unknown country 'Narnia'" in error.message
    report = _import(with_data, "customers", path, skip_invalid=True)
    assert (report.invalid, report.imported) == (2, 4)
    assert "unknown countries left blank: 'Channel Islands' (1)" in report.notes


def test_a_negative_line_outside_a_returns_aware_format_is_not_paid_revenue(
    with_data: Database, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + orders(2) + "z@example.com,9,-100000,1.00,2024-01-05,oops\n")
    error = refused(with_data, "orders", path)
    assert _errors(error) == [
        (
            4,
            "quantity",
            "quantity -100000 is below zero: a return or refund is not read as a negative line "
            "in this layout; give the order the status refunded instead",
        )
    ]
    totals = tmp_path / "totals.csv"
    totals.write_text("email,order id,total,date\na@example.com,1,-100000.00,2024-01-05\n")
    assert _errors(refused(with_data, "orders", totals))[0][:2] == (2, "total")


def test_returns_in_a_retail_log_stay_accepted(with_data: Database, tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom\n"
        "C536379,85123A,WHITE HANGING HEART,-2,2010-12-01 09:41,2.55,17850,United Kingdom\n"
    )
    report = _import(with_data, "orders", path)
    assert (report.format, report.imported, report.invalid) == ("retail", 2, 0)


def test_a_five_thousand_digit_quantity_is_an_invalid_row_not_a_traceback(
    with_data: Database, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + orders(2) + f"z@example.com,9,{'9' * 5000},1.00,2024-01-05,x\n")
    ((row, column, message),) = _errors(refused(with_data, "orders", path))
    assert (row, column) == (4, "quantity")
    assert message == f"quantity {'9' * 40}… (5,000 characters) is too large"
    scores = tmp_path / "reviews.csv"
    scores.write_text(f"email,rating,date\nann@example.com,{'9' * 5000},2024-01-05\n")
    ((row, column, message),) = _errors(refused(with_data, "feedback", scores))
    assert (row, column, message.endswith("is too large a number")) == (2, "rating", True)


# --- the real CLI, on a SQLite workspace: not one byte changes ------------------------------


@pytest.mark.slow
def test_a_refused_import_through_the_cli_leaves_the_workspace_byte_for_byte(
    tmp_path: Path,
) -> None:
    from tests.cli.test_cli import run

    workspace = tmp_path / "ws"
    assert run("init", "--workspace", str(workspace), "--currency", "CNY").returncode == 0
    good = run("import", "orders", str(DATA / "orders_gbk.csv"), "--workspace", str(workspace))
    assert good.returncode == 0, good.stderr
    before = {p.name: p.read_bytes() for p in sorted(workspace.iterdir())}
    assert "soloist.db" in before
    for name in ("a gzip bomb", "a row with extra cells", "a megabyte-long cell"):
        make, kind, _, _, words = READER_CASES[name]
        path = make(tmp_path)
        result = run("import", kind, str(path), "--workspace", str(workspace))
        assert (result.returncode, words in result.stderr) == (1, True), result.stderr
        assert "Traceback" not in result.stderr
        assert {p.name: p.read_bytes() for p in sorted(workspace.iterdir())} == before
    negative = tmp_path / "negative.csv"
    negative.write_text(HEADER + "z@example.com,9,-100000,1.00,2024-01-05,oops\n")
    result = run("import", "orders", str(negative), "--workspace", str(workspace))
    assert (result.returncode, "row 2, column 'quantity'" in result.stderr) == (1, True)
    assert {p.name: p.read_bytes() for p in sorted(workspace.iterdir())} == before


# --- any damage at all: only ImportRefusedError comes out, nothing is written --------------


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.sampled_from([p.name for p in SEEDS]),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=4),
    junk=st.binary(max_size=12)
    | st.sampled_from([b",", b'"', b"\n", b"\xff\xfe", b"\x00", b"-1e999"]),
    kind=st.sampled_from(KINDS),
    fmt=st.sampled_from(["auto", *FORMATS.names()]),
    head=st.integers(min_value=0, max_value=60),
)
def test_broken_files_are_refused_or_imported_never_crash(
    sqlite_database: Database,
    tmp_path: Path,
    seed: str,
    cuts: list[int],
    junk: bytes,
    kind: str,
    fmt: str,
    head: int,
) -> None:
    lines = (DATA / seed).read_bytes().splitlines(keepends=True)[: head + 1]
    path = tmp_path / "broken.csv"
    path.write_bytes(_mangle(b"".join(lines), cuts, junk))
    before = snapshot(sqlite_database)
    try:
        with sqlite_database.session() as session:
            import_file(session, kind, path, ImportOptions(format=fmt), "test")
    except ImportRefusedError:
        assert snapshot(sqlite_database) == before


@pytest.mark.parametrize(
    "content", [b"", b"\n\n", b"\x00\x01\x02", b"PK\x03\x04broken", b"\x1f\x8bxx"]
)
def test_empty_binary_and_damaged_files_are_refused(
    sqlite_database: Database, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(ImportRefusedError), sqlite_database.session() as session:
        import_file(session, "orders", path, ImportOptions(), "test")


def test_western_european_text_in_windows_1252_is_read_not_refused(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """Words of one accented letter ("à", "é") are common in French and Portuguese; they are
    no sign of Cyrillic read as Windows-1252."""
    path = tmp_path / "clients.csv"
    path.write_bytes(
        "name,email,notes\n"
        "Anne Dupont,anne@example.com,Livraison à Paris\n"
        "João Silva,joao@example.com,Ela é cliente\n"
        "Renée Müller,renee@example.com,Café crème à emporter\n".encode("cp1252")
    )
    report = _import(sqlite_database, "customers", path)
    assert report.imported == 3
    assert read_table(path).encoding == "cp1252"
