"""``soloist churn`` on real data as a user runs it: the UCI Online Retail log imported file by
file (a BG/NBD that the data do not identify no longer stops the run), and the Telco
subscriptions with no orders at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.domain.scoring.test_real_data_runs import add_telco
from tests.real_data import DATA

from soloist.config import load_settings
from soloist.storage.database import Database


def run(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ}
    environment.pop("SOLOIST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        capture_output=True, text=True, env=environment, check=False, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_churn_on_the_imported_online_retail_log_reports_every_model(tmp_path: Path) -> None:
    folder = str(tmp_path / "retail")
    assert run("init", "--workspace", folder).returncode == 0
    for part in sorted((DATA / "online-retail").glob("online_retail_*.csv.gz")):
        imported = run("import", "orders", str(part), "--workspace", folder)
        assert imported.returncode == 0, imported.stderr
    result = run("churn", "--workspace", folder, "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["basis"] == "orders"
    models = {"logistic", "random_forest", "gradient_boosting", "bg_nbd_p_alive",
              "bg_nbd_no_purchase"}  # fmt: skip
    assert set(metrics["comparison"]) | set(metrics["failed"]) == models
    assert metrics["comparison"][metrics["chosen"]]["roc_auc"] > 0.7
    assert metrics["customers_scored"] == 4339
    clv = metrics["clv_comparison"]
    assert clv["failed"] == {"btyd": "BetaGeoModel: the data do not identify the model"}
    assert clv["chosen"] in {"linear", "decision_tree", "gradient_boosting"}
    shown = run("churn", "--workspace", folder)
    assert shown.returncode == 0, shown.stderr
    assert "CLV model btyd did not work: BetaGeoModel: the data do not identify the model" in (
        shown.stdout
    )


@pytest.mark.slow
def test_churn_scores_a_subscription_business_with_no_orders(tmp_path: Path) -> None:
    folder = tmp_path / "telco"
    assert run("init", "--workspace", str(folder)).returncode == 0
    database = Database(load_settings(workspace=folder))
    try:
        with database.session() as session:
            add_telco(session)
    finally:
        database.dispose()
    result = run("churn", "--workspace", str(folder))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Churn from orders: no paid orders in USD; scored from subscriptions." in text
    assert "Subscription churn models, 5-fold cross-validation on the 7043 subscriptions" in text
    assert "Subscription feature 'Churn' left out: named like the outcome." in text
    assert "5174 customers scored" in text
