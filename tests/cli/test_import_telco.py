"""A subscription business's snapshot, as a new user brings it in: the IBM Telco churn file
imported with ``soloist import subscriptions`` into a new workspace, then ``analyze``,
``segments`` and ``churn`` on it, with the figures docs/import.md quotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.test_churn_real_data_cli import run
from tests.real_data import TELCO, TELCO_DAY

CONTRACT = ("rows_read", "imported", "updated", "skipped", "invalid", "errors")


def _json(*args: str) -> dict[str, object]:
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


@pytest.mark.slow
def test_the_telco_file_imports_as_subscriptions_and_every_analysis_runs_on_it(
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "telco")
    assert run("init", "--workspace", folder).returncode == 0
    args = ("import", "subscriptions", str(TELCO), "--as-of", str(TELCO_DAY), "--workspace", folder)

    dry = _json(*args, "--dry-run")
    assert (dry["status"], dry["imported"]) == ("dry_run", 7043)
    report = _json(*args)
    for key in CONTRACT:
        assert key in report
    assert report["format"] == "subscription-snapshot"
    assert (report["rows_read"], report["imported"], report["invalid"]) == (7043, 7043, 0)
    assert report["customers"]["created"] == 7043
    assert report["missing_values"] == {"TotalCharges": 11}  # tenure 0: imported all the same
    notes = " ".join(report["notes"])  # type: ignore[arg-type]
    assert "a snapshot as of 2024-06-30 (the day given)" in notes
    assert "kept as the customers' own fields: gender, SeniorCitizen" in notes
    assert "Churn" not in notes.split("own fields:")[1]
    again = _json(*args)
    assert (again["status"], again["imported"], again["updated"]) == ("unchanged", 0, 0)
    status = _json("status", "--workspace", folder)
    assert status["customers"] == 7043

    analyze = _json("analyze", "--workspace", folder)
    params, metrics = analyze["params"], analyze["metrics"]
    assert isinstance(params, dict)
    assert isinstance(metrics, dict)
    check = metrics["holdout"]
    print(f"\nanalyze: sBG {params['purchase']}, check {check}")
    assert params["basis"] == "subscriptions"
    assert (metrics["customers"], metrics["running"]) == (7043, 5174)
    assert check["actual_cancellations"] == 1869
    assert check["predicted_cancellations"] == pytest.approx(1869, rel=0.05)
    assert check["rmse"] < (0.2654 * 0.7346) ** 0.5  # better than one rate for everyone

    segments = _json("segments", "--workspace", folder)
    seg_params, seg_metrics = segments["params"], segments["metrics"]
    assert isinstance(seg_params, dict)
    assert isinstance(seg_metrics, dict)
    print(f"segments: {seg_metrics['customers']} customers, status {segments['status']}")
    assert segments["status"] == "succeeded"
    assert seg_params["basis"] == "subscriptions"
    assert seg_metrics["customers"] == 7043

    churn = _json("churn", "--workspace", folder)
    churn_metrics = churn["metrics"]
    assert isinstance(churn_metrics, dict)
    sub = churn_metrics["subscription"]
    aucs = {name: round(cv["roc_auc"], 3) for name, cv in sub["cross_validation"].items()}
    print(f"churn: {sub['chosen']} chosen, 5-fold ROC AUC {aucs}")
    assert churn_metrics["basis"] == "subscriptions"
    assert sub["rows"] == 7043
    assert sub["cross_validation"][sub["chosen"]]["roc_auc"] >= 0.84
    assert sub["left_out"] == {}  # the label was never stored as a field
    assert "Churn" not in sub["features"]
    assert {"gender", "PaymentMethod", "TotalCharges"} <= set(sub["features"])
    assert churn_metrics["customers_scored"] == 5174
