"""`soloist deal …` and `soloist task …` in-process through Typer's runner, on a fresh SQLite
workspace in Paris time: deals added by a customer's e-mail or id, moved, won, listed, the
forecast and statistics as JSON, stages changed; tasks added with a local due time and a
reminder before it, the today list, done; and the errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from soloist.cli.main import app
from soloist.config import load_settings
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.sales import create_deal
from soloist.domain.workspace import open_workspace
from soloist.storage.crypto import generate_master_key
from soloist.storage.types import utcnow

runner = CliRunner()
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A workspace in Paris time with two customers (ids 1 and 2), and one deal of 45 days ago."""
    values = {
        "SOLOIST_MASTER_KEY": generate_master_key(),
        "SOLOIST_WORKSPACE": str(tmp_path / "ws"),
        "SOLOIST_TIMEZONE": "Europe/Paris",
    }
    assert runner.invoke(app, ["init", "--currency", "EUR"], env=values).exit_code == 0
    database = open_workspace(load_settings(workspace=tmp_path / "ws", environ=values))
    try:
        with database.session() as session:
            ada = create_customer(session, CustomerCreate(name="Ada", email="ada@example.com"), "t")
            create_customer(session, CustomerCreate(name="Bob"), "t")
            create_deal(
                session,
                "t",
                name="Old lead",
                customer_id=ada.id,
                value=50,
                currency="EUR",
                now=utcnow() - dt.timedelta(days=45),
            )
    finally:
        database.dispose()
    return values


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_deals_are_added_moved_won_listed_and_forecast(env: dict[str, str]) -> None:
    this_month = dt.datetime.now(PARIS).date().replace(day=28)
    added = _json(
        _run(
            env,
            "deal",
            "add",
            "ada@example.com",
            "--name",
            "Espresso machines",
            "--value",
            "1200",
            "--expected-close",
            this_month.isoformat(),
            "--json",
        )
    )
    assert (added["stage"], added["probability"], added["value"], added["currency"]) == (
        "lead",
        10,
        "1200.00",
        "EUR",
    )
    assert added["customer_id"] == 1
    other = _json(
        _run(
            env,
            "deal",
            "add",
            "2",
            "--name",
            "Grinder",
            "--value",
            "300.50",
            "--currency",
            "usd",
            "--json",
        )
    )
    assert (other["customer_id"], other["currency"]) == (2, "USD")
    moved = _json(_run(env, "deal", "move", str(added["id"]), "negotiation", "--json"))
    assert (moved["stage"], moved["probability"], moved["weighted"]) == (
        "negotiation",
        75,
        "900.00",
    )
    won = _run(env, "deal", "move", str(other["id"]), "won", "--reason", "Quick yes")
    assert won.exit_code == 0, won.output
    assert "won (Quick yes)" in won.stdout
    listed = _json(_run(env, "deal", "list", "--json"))
    assert [d["name"] for d in listed["items"]] == ["Grinder", "Espresso machines", "Old lead"]
    stale = _json(_run(env, "deal", "list", "--stale", "--json"))
    assert [d["name"] for d in stale["items"]] == ["Old lead"]
    assert [
        d["name"] for d in _json(_run(env, "deal", "list", "--stage", "won", "--json"))["items"]
    ] == ["Grinder"]
    table = _run(env, "deal", "list")
    assert "Grinder" in table.stdout
    assert "stale" in table.stdout
    forecast = _json(_run(env, "deal", "forecast", "--months", "2", "--json"))
    # This month: 1200 × 75 % = 900 EUR; the deal won in USD has no rate: named, not counted.
    first = forecast["months"][0]
    assert (first["month"], first["weighted"], first["total"]) == (
        this_month.strftime("%Y-%m"),
        "900.00",
        "1200.00",
    )
    assert first["left_out"] == [{"currency": "USD", "deals": 1, "value": "300.50"}]
    assert forecast["months"][1]["total"] == "0.00"
    assert forecast["undated_deals"] == 1  # the old lead
    assert any("USD" in note for note in forecast["notes"])
    stats = _json(_run(env, "deal", "stats", "--json"))
    lead = stats["stages"][0]
    assert (lead["key"], lead["entered"], lead["advanced"]) == ("lead", 3, 2)
    assert (stats["won"], stats["lost"], stats["win_rate"]) == (1, 0, 1.0)
    assert stats["left_out"] == [{"currency": "USD", "deals": 1, "value": "300.50"}]


def test_stages_and_the_stale_setting_are_changed_from_the_command_line(
    env: dict[str, str],
) -> None:
    stages = _json(
        _run(
            env, "deal", "stage", "add", "Demo", "--probability", "40", "--position", "1", "--json"
        )
    )
    assert [s["key"] for s in stages["items"]][:3] == ["lead", "demo", "qualified"]
    changed = _json(
        _run(
            env,
            "deal",
            "stage",
            "set",
            "demo",
            "--name",
            "Demo booked",
            "--probability",
            "45",
            "--json",
        )
    )
    assert (changed["items"][1]["name"], changed["items"][1]["probability"]) == ("Demo booked", 45)
    listed = _run(env, "deal", "stages")
    assert "Demo booked" in listed.stdout
    assert "Negotiation" in listed.stdout
    deleted = _json(_run(env, "deal", "stage", "delete", "demo", "--json"))
    assert "demo" not in [s["key"] for s in deleted["items"]]
    refused = _run(env, "deal", "stage", "delete", "won")
    assert refused.exit_code == 1
    assert "cannot be deleted" in refused.stderr
    assert _json(_run(env, "deal", "settings", "--stale-days", "60", "--json")) == {
        "stale_days": 60
    }
    assert _json(_run(env, "deal", "list", "--stale", "--json"))["items"] == []


def test_deal_errors_are_one_clear_line(env: dict[str, str]) -> None:
    unknown = _run(env, "deal", "add", "nobody@example.com", "--name", "x", "--value", "1")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: No customer 'nobody@example.com'")
    assert _run(env, "deal", "add", "1", "--name", "x", "--value", "lots").exit_code == 2
    assert (
        _run(
            env, "deal", "add", "1", "--name", "x", "--value", "1", "--expected-close", "31/01/2027"
        ).exit_code
        == 2
    )
    nowhere = _run(env, "deal", "move", "1", "nowhere")
    assert nowhere.exit_code == 1
    assert "No stage 'nowhere'" in nowhere.stderr
    reason = _run(env, "deal", "move", "1", "qualified", "--reason", "why")
    assert reason.exit_code == 1
    assert "reason" in reason.stderr
    assert "Traceback" not in reason.output


def test_tasks_take_local_times_reminders_before_them_and_the_today_list(
    env: dict[str, str],
) -> None:
    local_now = dt.datetime.now(PARIS)
    yesterday = (local_now - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    added = _json(
        _run(
            env,
            "task",
            "add",
            "Call Ada",
            "--due",
            "2030-06-01 10:00",
            "--remind",
            "30m",
            "--customer",
            "ada@example.com",
            "--json",
        )
    )
    # 10:00 in Paris in summer is 08:00 UTC; the reminder half an hour before.
    assert (added["due_at"], added["remind_at"]) == (
        "2030-06-01T08:00:00+00:00",
        "2030-06-01T07:30:00+00:00",
    )
    assert (added["customer_id"], added["state"]) == (1, "upcoming")
    late = _json(
        _run(
            env,
            "task",
            "add",
            "Send the quote",
            "--due",
            yesterday,
            "--deal",
            "1",
            "--priority",
            "high",
            "--json",
        )
    )
    assert (late["state"], late["customer_id"], late["deal_id"]) == ("overdue", 1, 1)
    day_only = _json(_run(env, "task", "add", "Order beans", "--due", "2030-06-02", "--json"))
    assert day_only["due_at"] == "2030-06-02T21:59:00+00:00"  # 23:59 in Paris
    today = _json(_run(env, "task", "list", "--today", "--json"))
    assert [t["title"] for t in today["items"]] == ["Send the quote"]
    assert [
        t["title"] for t in _json(_run(env, "task", "list", "--upcoming", "--json"))["items"]
    ] == ["Call Ada", "Order beans"]
    table = _run(env, "task", "list")
    assert "overdue" in table.stdout
    assert "Europe/Paris" in table.stdout
    done = _json(_run(env, "task", "done", str(late["id"]), "--json"))
    assert (done["done"], done["state"]) == (True, "done")
    assert _json(_run(env, "task", "list", "--overdue", "--json"))["items"] == []
    assert [t["title"] for t in _json(_run(env, "task", "list", "--done", "--json"))["items"]] == [
        "Send the quote"
    ]


def test_task_errors_are_one_clear_line(env: dict[str, str]) -> None:
    both = _run(env, "task", "list", "--today", "--overdue")
    assert both.exit_code == 2
    no_due = _run(env, "task", "add", "x", "--remind", "1h")
    assert no_due.exit_code == 2
    assert "--due" in no_due.output
    bad_time = _run(env, "task", "add", "x", "--due", "tomorrow at ten")
    assert bad_time.exit_code == 2
    missing = _run(env, "task", "done", "4242")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: No task with id 4242")
    priority = _run(env, "task", "add", "x", "--priority", "urgent")
    assert priority.exit_code == 1
    assert "priority" in priority.stderr


def test_task_rules_are_added_listed_refused_and_removed(env: dict[str, str]) -> None:
    rule = _json(_run(env, "task", "rule", "add", "deal_stage", "--title", "Send the contract",
                      "--stage", "negotiation", "--due-days", "2", "--json"))  # fmt: skip
    assert (rule["kind"], rule["stage"], rule["due_days"]) == ("deal_stage", "negotiation", 2)
    refused = _run(env, "task", "rule", "add", "churn_risk", "--title", "Call", "--threshold", "2")
    assert refused.exit_code == 1
    assert "threshold" in refused.output
    unknown = _run(env, "task", "rule", "add", "deal_stage", "--title", "x", "--stage", "nowhere")
    assert "No stage 'nowhere'" in unknown.output
    assert [r["id"] for r in _json(_run(env, "task", "rule", "list", "--json"))] == [rule["id"]]
    assert _run(env, "task", "rule", "remove", rule["id"]).exit_code == 0
    assert _json(_run(env, "task", "rule", "list", "--json")) == []
