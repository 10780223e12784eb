"""`soloist journey …` in-process through Typer's runner on a SQLite workspace: a journey created
and started, a pass run now, its message sent to a real SMTP server on loopback once per
customer, its results, a customer's timeline, pausing and the errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.domain.campaigns.builders import BODY_EN, BODY_ZH, add_audience
from tests.mailserver import SmtpServer
from typer.testing import CliRunner, Result

from soloist.cli.main import app
from soloist.config import load_settings
from soloist.domain.workspace import open_workspace
from soloist.storage.crypto import generate_master_key

runner = CliRunner()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, smtp_server: SmtpServer) -> dict[str, str]:
    """A workspace with two customers from before any journey, sending through the loopback
    server, without quiet hours (the tests run at any hour)."""
    values = {
        "SOLOIST_MASTER_KEY": generate_master_key(),
        "SOLOIST_WORKSPACE": str(tmp_path / "ws"),
        "SOLOIST_QUIET_HOURS": "",
        **smtp_server.environ,
    }
    assert runner.invoke(app, ["init"], env=values).exit_code == 0
    _add_customers(values, 2, "example.net", "everyone")
    return values


def _add_customers(env: dict[str, str], count: int, domain: str, segment: str) -> None:
    settings = load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env)
    database = open_workspace(settings)
    try:
        add_audience(database, count, segment=segment, domain=domain)
    finally:
        database.dispose()


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _file(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_welcome_journey_is_created_started_run_and_sends_once(
    env: dict[str, str], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    body = _file(tmp_path, "welcome.html", BODY_EN)
    created = _json(_run(env, "journey", "create", "Welcome", "--trigger", "welcome",
                         "--subject", "Welcome, {{ customer.first_name }}", "--body-file", body,
                         "--holdout", "0", "--json"))  # fmt: skip
    number = str(created["id"])
    assert (created["status"], created["trigger"], created["action"]) == (
        "draft", "welcome", "message",
    )  # fmt: skip
    started = _run(env, "journey", "start", "Welcome")  # by name
    assert started.exit_code == 0, started.output
    assert f"Journey {number} is active." in started.stdout
    _add_customers(env, 3, "new.example", "new")

    report = _json(_run(env, "journey", "run", "--json"))
    assert (report["entered"], report["sent"], report["messages"]["sent"]) == (3, 3, 3)
    mails = smtp_server.handler.messages()
    assert sorted(m.rcpt_tos[0] for m in mails) == [f"c{i}@new.example" for i in range(3)]
    assert {str(m.message["Subject"]) for m in mails} == {"Welcome, Cleo"}
    again = _run(env, "journey", "run")
    assert again.exit_code == 0, again.output
    assert "Entered 0 occasions" in again.stdout
    assert "Sent 0 messages." in again.stdout
    assert len(smtp_server.handler.messages()) == 3

    shown = _json(_run(env, "journey", "show", number, "--json"))
    assert (shown["entries"], shown["by_state"], shown["messages"]["sent"]) == (3, {"sent": 3}, 3)
    text = _run(env, "journey", "show", number)
    assert "Entries: 3 (sent 3)." in " ".join(text.stdout.split())
    (listed,) = _json(_run(env, "journey", "list", "--json"))
    assert (listed["name"], listed["sent"], listed["status"]) == ("Welcome", 3, "active")
    assert "Welcome" in _run(env, "journey", "list").stdout

    (item,) = _json(_run(env, "journey", "timeline", number, "c1@new.example", "--json"))
    assert (item["state"], item["subject"]) == ("sent", "Welcome, Cleo")
    before = _json(_run(env, "journey", "timeline", number, "c0@example.net", "--json"))
    assert [i["state"] for i in before] == ["before_start"]
    table = _run(env, "journey", "timeline", number, "1")
    assert "before_start" in table.stdout
    nobody = _run(env, "journey", "timeline", number, "nobody@example.net")
    assert nobody.exit_code == 1
    assert "No customer 'nobody@example.net'" in nobody.stderr

    zh = _file(tmp_path, "zh.html", BODY_ZH)
    translated = _run(env, "journey", "translate", number, "zh-CN", "--subject", "欢迎",
                      "--body-file", zh)  # fmt: skip
    assert translated.exit_code == 0, translated.output
    assert "it has en, zh-CN" in translated.stdout
    assert "is paused" in _run(env, "journey", "pause", number).stdout
    _add_customers(env, 1, "later.example", "later")
    assert _json(_run(env, "journey", "run", "--json"))["entered"] == 0
    paused = _run(env, "journey", "pause", number)
    assert (paused.exit_code, "is paused, not running" in paused.stderr) == (1, True)


def test_a_task_journey_and_refused_input(env: dict[str, str], tmp_path: Path) -> None:
    body = _file(tmp_path, "body.html", BODY_EN)
    both = _run(env, "journey", "create", "x", "--trigger", "order", "--task", "Call",
                "--subject", "Hi", "--body-file", body)  # fmt: skip
    assert both.exit_code == 2
    neither = _run(env, "journey", "create", "x", "--trigger", "order")
    assert neither.exit_code == 2
    moon = _run(env, "journey", "create", "x", "--trigger", "moon", "--task", "Call")
    assert moon.exit_code == 1
    assert "trigger must be one of" in moon.stderr
    broken = _file(tmp_path, "broken.html", "<p>{{ customer.name }</p>")
    template = _run(env, "journey", "create", "x", "--trigger", "order", "--subject", "Hi",
                    "--body-file", broken)  # fmt: skip
    assert template.exit_code == 1
    assert "broken.html:" in template.stderr

    created = _json(_run(env, "journey", "create", "Say hello", "--trigger", "welcome",
                         "--task", "Call to say hello", "--holdout", "0", "--json"))  # fmt: skip
    assert (created["action"], created["task_title"]) == ("task", "Call to say hello")
    taken = _run(env, "journey", "create", "Say hello", "--trigger", "welcome", "--task", "x")
    assert (taken.exit_code, "already called" in taken.stderr) == (1, True)
    assert _run(env, "journey", "start", str(created["id"]), "--backfill-days", "1").exit_code == 0
    report = _json(_run(env, "journey", "run", "--json"))  # the two customers of today
    assert (report["tasks"], report["messages"]["sent"]) == (2, 0)
    assert _json(_run(env, "journey", "show", "Say hello", "--json"))["by_state"] == {"task": 2}
    unknown = _run(env, "journey", "show", "Nope")
    assert (unknown.exit_code, "No journey 'Nope'" in unknown.stderr) == (1, True)
