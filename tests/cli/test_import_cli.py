"""``soloist import``, ``export`` and ``customers`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.test_cli import run

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    assert run("init", "--workspace", str(folder)).returncode == 0
    return folder


def test_import_json_has_the_contract_keys_and_a_second_run_changes_nothing(
    workspace: Path, tmp_path: Path
) -> None:
    args = (
        "import",
        "orders",
        str(DATA / "CDNOW_sample.txt"),
        "--workspace",
        str(workspace),
        "--json",
    )
    first = run(*args)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    for key in ("rows_read", "imported", "updated", "skipped", "invalid", "errors"):
        assert key in report
    assert (report["rows_read"], report["imported"]) == (6919, 6919)
    second = json.loads(run(*args).stdout)
    assert (second["imported"], second["updated"]) == (0, 0)
    status = json.loads(run("status", "--workspace", str(workspace), "--json").stdout)
    assert (status["customers"], status["orders"]) == (2357, 6919)
    out = tmp_path / "orders.parquet"
    exported = run(
        "export", "orders", "--output", str(out), "--workspace", str(workspace), "--json"
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["rows"] == 6919


def test_a_refused_import_exits_non_zero_with_row_numbered_errors(
    workspace: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "orders.csv"
    broken.write_text(
        "email,order id,amount,date\na@example.com,1,12.00,2024-01-05\n"
        "b@example.com,2,twelve,2024-01-06\n"
    )
    result = run("import", "orders", str(broken), "--workspace", str(workspace), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["errors"] == [
        {"row": 3, "column": "amount", "message": "not an amount: 'twelve'"}
    ]
    assert "row 3" in result.stderr
    status = json.loads(run("status", "--workspace", str(workspace), "--json").stdout)
    assert status["orders"] == 0


def test_duplicates_are_listed_and_merged_from_the_command_line(
    workspace: Path, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("name,phone\nZhang Wei,+8613800138000\nZhang  Wei,+8613800131234\n")
    assert run("import", "customers", str(people), "--workspace", str(workspace)).returncode == 0
    listed = json.loads(
        run("customers", "duplicates", "--workspace", str(workspace), "--json").stdout
    )
    assert len(listed) == 1
    pair = listed[0]
    merged = run(
        "customers",
        "merge",
        str(pair["keep_id"]),
        str(pair["merge_id"]),
        "--workspace",
        str(workspace),
        "--json",
    )
    assert merged.returncode == 0, merged.stderr
    status = json.loads(run("status", "--workspace", str(workspace), "--json").stdout)
    assert status["customers"] == 1
