"""``soloist import auto FOLDER``, ``import KIND FILE FILE …``, ``import fields`` and the progress
bar, as a user runs them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from tests.cli.test_cli import run

from soloist.cli.import_progress import ImportBar
from soloist.cli.imports import FIELDS_HELP
from soloist.domain.imports import KINDS, import_fields

DATA = Path(__file__).parents[1] / "data"
CONTRACT = ("rows_read", "imported", "updated", "skipped", "invalid", "errors")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    assert run("init", "--workspace", str(folder)).returncode == 0
    return folder


def test_a_shop_export_folder_imports_in_one_command_with_the_contract_keys(
    workspace: Path,
) -> None:
    args = ("import", "auto", str(DATA / "shopify"), "--workspace", str(workspace), "--json")
    first = run(*args)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    for key in CONTRACT:
        assert key in report
    assert (report["rows_read"], report["imported"], report["invalid"]) == (9, 8, 0)
    assert [(f["file"], f["table"]) for f in report["files"]] == [
        ("customers_export.csv", "customers"),
        ("orders_export.csv", "orders"),
    ]
    assert [one["format"] for one in report["imports"]] == ["shopify-customers", "shopify"]
    second = json.loads(run(*args).stdout)
    assert (second["imported"], second["updated"], second["status"]) == (0, 0, "unchanged")
    status = json.loads(run("status", "--workspace", str(workspace), "--json").stdout)
    assert (status["customers"], status["orders"]) == (4, 4)


def test_a_refused_file_of_several_names_its_file_and_nothing_is_written(
    workspace: Path, tmp_path: Path
) -> None:
    good = tmp_path / "a.csv"
    good.write_text("email,order id,date,amount\na@example.com,1,2024-01-05,12.00\n")
    bad = tmp_path / "b.csv"
    bad.write_text("email,order id,date,amount,status\nb@example.com,2,2024-01-06,9.00,invoiced\n")
    result = run("import", "orders", str(good), str(bad), "--workspace", str(workspace), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "refused"
    (error,) = report["errors"]
    assert (error["file"], error["row"], error["column"]) == ("b.csv", 2, "status")
    assert "--map-value status:invoiced=paid" in error["message"]
    status = json.loads(run("status", "--workspace", str(workspace), "--json").stdout)
    assert status["orders"] == 0
    mapped = run(
        "import", "orders", str(good), str(bad), "--workspace", str(workspace),
        "--map-value", "status:invoiced=paid",
    )  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    assert "all files" in mapped.stdout


def test_a_gbk_customers_file_with_chinese_mobiles_imports_in_a_new_workspace(
    workspace: Path,
) -> None:
    path = str(DATA / "chinese-shops" / "customers.csv")
    result = run("import", "customers", path, "--workspace", str(workspace), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["imported"] == 5


@pytest.mark.parametrize(
    "args",
    [
        ("import", "things", "x.csv"),
        ("import", "orders", "x.csv", "--map-value", "status=paid"),
        ("import", "orders", "x.csv", "--map-value", "status:invoiced=payed"),
        ("import", "fields", "things"),
        ("import", "orders"),
    ],
)
def test_bad_usage_exits_2(workspace: Path, args: tuple[str, ...]) -> None:
    result = run(*args, "--workspace", str(workspace))
    assert result.returncode == 2, (result.stdout, result.stderr)


def test_a_missing_folder_is_named_as_typed(workspace: Path) -> None:
    result = run("import", "auto", "no/such/folder", "--workspace", str(workspace))
    assert result.returncode == 1
    assert "no/such/folder: no such file or folder" in result.stderr


def test_every_field_of_every_kind_is_in_the_help_and_in_import_fields() -> None:
    assert {kind: ", ".join(f for f, _, _ in import_fields(kind)) for kind in KINDS} == FIELDS_HELP
    shown = run("import", "--help", env={"COLUMNS": "250"}).stdout
    for kind in KINDS:
        for name, _, _ in import_fields(kind):
            assert name in shown
    listed = json.loads(run("import", "fields", "feedback", "--json").stdout)
    assert [row["field"] for row in listed["feedback"]][-10:] == [
        "feedback_id",
        "order_id",
        "survey",
        "score",
        "rating",
        "title",
        "comment",
        "language",
        "responded_at",
        "source",
    ]
    assert "review id" in listed["feedback"][8]["columns"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_bar_appears_after_two_seconds_with_file_rows_and_rate() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    clock = Clock()
    with ImportBar(console, clock=clock) as bar:
        bar("file:online_retail_2010-12.csv.gz", 0, 13)
        bar("rows", 42481, 0)
        assert bar.bar is None  # a quick import shows nothing
        clock.now = 4.0
        bar("file:online_retail_2011-01.csv.gz", 1, 13)
        bar("step:clean", 1, 4)
        assert bar.bar is not None
        assert bar.description() == "file 2/13 online_retail_2011-01.csv.gz · clean"
        assert bar.rate() == "42,481 rows · 10,620 rows/s"
    assert bar.bar is None
    assert "online_retail_2011-01" in screen.getvalue()


def test_no_bar_when_asked_for_json() -> None:
    clock = Clock()
    bar = ImportBar(Console(file=io.StringIO()), enabled=False, clock=clock)
    clock.now = 10.0
    bar("step:write", 3, 4)
    assert bar.bar is None
