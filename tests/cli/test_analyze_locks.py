"""``soloist analyze`` on SQLite leaves the write lock to live writes while it fits: a minute at
a hundred thousand customers during which the API's orders would otherwise fail with
"database is locked"."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import soloist.domain.scoring.churn as churn_module
import soloist.domain.scoring.clv as clv_module
import soloist.domain.scoring.segments as segments_module
from soloist.cli.main import app
from soloist.storage.crypto import generate_master_key

runner = CliRunner()


def _another_can_write(path: Path) -> bool:
    other = sqlite3.connect(str(path), timeout=0.5, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # "database is locked"
        return False
    finally:
        other.close()


@pytest.mark.parametrize(
    "command",
    [["analyze"], ["segments", "--method", "kmeans"], ["churn"]],
    ids=["analyze", "segments", "churn"],
)
def test_the_fits_run_while_another_connection_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    env = {"SOLOIST_MASTER_KEY": generate_master_key(), "SOLOIST_WORKSPACE": str(tmp_path / "ws")}
    # One process, so that the checks below see every fit (side by side, the churn model is
    # fitted through the same reader-and-writer sessions in a process of its own).
    env["SOLOIST_ANALYSES_SIDE_BY_SIDE"] = "false"
    built = runner.invoke(app, ["demo", "--customers", "300", "--end-date", "2026-03-31"], env=env)
    assert built.exit_code == 0, built.output
    path = tmp_path / "ws" / "soloist.db"
    others_wrote: list[tuple[str, bool]] = []

    def checked(name: str, fit: Callable[..., Any]) -> Callable[..., Any]:
        def while_another_writes(*args: Any, **kwargs: Any) -> Any:
            others_wrote.append((name, _another_can_write(path)))
            return fit(*args, **kwargs)

        return while_another_writes

    for module, name in (
        (clv_module, "fit_purchase_model"),
        (segments_module, "cluster_customers"),
        (churn_module, "score_churn"),
    ):
        monkeypatch.setattr(module, name, checked(name, getattr(module, name)))
    result = runner.invoke(app, [*command, "--json"], env=env)
    assert result.exit_code == 0, result.output
    expected = {
        "analyze": ["fit_purchase_model", "cluster_customers", "score_churn"],
        "segments": ["cluster_customers"],
        "churn": ["score_churn"],
    }[command[0]]
    assert others_wrote == [(name, True) for name in expected]
