"""/api/v1/model-runs and the /models page: which purchase model `analyze` kept, and why."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from soloist.demo.business import build_demo
from soloist.domain.scoring.clv import analyze_workspace
from soloist.storage.database import Database
from tests.api.conftest import bearer


@pytest.mark.slow
def test_the_latest_clv_run_says_which_model_was_kept_and_why(
    client: TestClient, tokens: dict[str, str], database: Database
) -> None:
    with database.session() as session:
        build_demo(session, customers=200, seed=3, end_date=dt.date(2026, 3, 31))
        run_id = analyze_workspace(session, "USD", "test").id
    listed = client.get("/api/v1/model-runs?kind=clv", headers=bearer(tokens["read"]))
    assert listed.status_code == 200
    (run,) = listed.json()
    assert run["id"] == run_id
    comparison = run["metrics"]["model_comparison"]
    assert run["params"]["purchase_model"] == comparison["chosen"]
    assert set(comparison["candidates"]) | set(comparison["failed"]) == {
        "bg-nbd", "mbg-nbd", "pareto-nbd"
    }  # fmt: skip
    assert comparison["chosen"] in comparison["reason"]
    one = client.get(f"/api/v1/model-runs/{run_id}", headers=bearer(tokens["read"]))
    assert one.json()["metrics"]["holdout"]["holdout_days"] == 90
    assert (
        client.get("/api/v1/model-runs/999999", headers=bearer(tokens["read"])).status_code == 404
    )
    assert client.get(
        f"/api/v1/model-runs/{2**63}", headers=bearer(tokens["read"])
    ).status_code in (
        404,
        422,
    )
    assert client.get("/api/v1/model-runs").status_code == 401
