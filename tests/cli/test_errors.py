"""Errors a person can act on: one line naming what is wrong, exit 2 for bad usage, 1 for the
rest, and no traceback without --debug."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.test_cli import run

DATA = Path(__file__).parents[1] / "data"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "--model", "nonsense"], "Unknown model 'nonsense'"),
        (["analyze", "--end-date", "30/09/1997"], "YYYY-MM-DD"),
        (["import", "nonsense", str(DATA / "CDNOW_sample.txt")], "Unknown import kind"),
        (["import", "orders", str(DATA / "CDNOW_sample.txt"), "--format", "nope"], "format"),
        (["segments", "--method", "nope"], "Unknown method 'nope'"),
        (["export", "nope", "--output", "x.csv"], "Unknown export 'nope'"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    folder = tmp_path / "ws"
    assert run("init", "--workspace", str(folder)).returncode == 0
    result = run(*args, "--workspace", str(folder))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    assert run("init", "--workspace", str(folder)).returncode == 0
    unreachable = ["--workspace", str(folder), "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db"]
    result = run("status", *unreachable)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: The database cannot be opened")
    assert "--db" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" in run("--debug", "status", *unreachable).stderr


def test_a_missing_file_is_named_as_typed(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    assert run("init", "--workspace", str(folder)).returncode == 0
    result = run("import", "orders", "exports/2024/orders.csv", "--workspace", str(folder))
    assert result.returncode == 1
    assert "exports/2024/orders.csv" in result.stderr


def test_analyze_refuses_an_end_date_before_the_data_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    assert run("init", "--workspace", str(folder)).returncode == 0
    imported = run("import", "orders", str(DATA / "CDNOW_sample.txt"), "--workspace", str(folder))
    assert imported.returncode == 0, imported.stderr
    result = run("analyze", "--end-date", "1990-01-01", "--workspace", str(folder))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "before the first paid order (1997-01-01)" in result.stderr
