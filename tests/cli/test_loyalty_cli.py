"""`soloist loyalty …` in-process through Typer's runner, on a fresh SQLite workspace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from soloist.cli.main import app
from soloist.config import load_settings
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.workspace import open_workspace
from soloist.storage.crypto import generate_master_key

runner = CliRunner()


def _run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout


def test_enrol_adjust_redeem_balance_expire_and_report(tmp_path: Path) -> None:
    env = {"SOLOIST_MASTER_KEY": generate_master_key(), "SOLOIST_WORKSPACE": str(tmp_path)}
    assert _run("init", env=env)[0] == 0
    database = open_workspace(load_settings(workspace=tmp_path, environ=env))
    with database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Ada"), "test").id
    database.dispose()

    code, out = _run("loyalty", "settings", "--set", "holdout_share=0", "--json", env=env)
    assert code == 0, out
    assert json.loads(out)["holdout_share"] == 0
    code, out = _run("loyalty", "enrol", "--json", env=env)
    assert json.loads(out) == {"members": 1, "holdout": 0, "already": 0}
    code, out = _run(
        "loyalty", "adjust", str(customer), "50", "--reason", "hello", "--json", env=env
    )
    assert json.loads(out)["balance"] == 150
    code, out = _run("loyalty", "redeem", str(customer), "500", "--key", "k1", "--json", env=env)
    assert code == 1
    assert json.loads(out)["status"] == "refused"
    code, out = _run("loyalty", "redeem", str(customer), "120", "--key", "k2", "--json", env=env)
    assert code == 0
    assert json.loads(out)["balance_after"] == 30
    code, out = _run("loyalty", "balance", str(customer), "--json", env=env)
    data = json.loads(out)
    assert (data["balance"], data["tier"]) == (30, "Bronze")
    assert [e["kind"] for e in data["ledger"]] == ["redeem", "adjust", "bonus"]
    code, out = _run("loyalty", "expire", "--now", "2099-01-01", "--json", env=env)
    assert json.loads(out)["points"] == 30
    code, out = _run("loyalty", "report", "--json", env=env)
    assert code == 0
    assert json.loads(out)["kpis"]["outstanding_points"] == 0
    code, out = _run("loyalty", "tiers", "--json", env=env)
    assert [t["name"] for t in json.loads(out)["tiers"]] == ["Bronze", "Silver", "Gold"]
