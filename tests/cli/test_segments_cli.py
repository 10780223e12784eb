"""``soloist segments`` and ``soloist churn`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    environment = {**os.environ}
    environment.pop("SOLOIST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        capture_output=True, text=True, env=environment, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seg") / "ws"
    result = run("demo", "--workspace", str(folder), "--customers", "400")
    assert result.returncode == 0, result.stderr
    return folder


def test_segments_json_lists_rfm_segments_and_clusters(demo_workspace: Path) -> None:
    result = run("segments", "--workspace", str(demo_workspace), "--method", "kmeans", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "segments"
    assert report["status"] == "succeeded"
    assert {row["segment"] for row in report["metrics"]["rfm"]} >= {"champions", "lost"}
    assert report["metrics"]["clusters"]["clusters"][0]["description"]


def test_segments_save_and_list(demo_workspace: Path) -> None:
    saved = run("segments", "save", "VIP", 'tag = "vip"', "--workspace", str(demo_workspace),
                "--json")  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["customers"] > 0
    listed = run("segments", "list", "--workspace", str(demo_workspace), "--json")
    assert any(row["name"] == "VIP" for row in json.loads(listed.stdout))


def test_a_bad_rule_prints_where_the_mistake_is(demo_workspace: Path) -> None:
    result = run("segments", "save", "bad", "orders > 1; DROP TABLE customers",
                 "--workspace", str(demo_workspace))  # fmt: skip
    assert result.returncode == 1
    assert "Error:" in result.stderr
    assert "position 11" in result.stderr


def test_churn_json_has_the_model_comparison(demo_workspace: Path) -> None:
    result = run("churn", "--workspace", str(demo_workspace), "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["chosen"] in metrics["comparison"]
    assert "bg_nbd_p_alive" in metrics["comparison"]
    assert metrics["customers_scored"] > 0
