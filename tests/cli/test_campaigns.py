"""`soloist campaign …` and `soloist segments save-list` in-process through Typer's runner, on a
fresh SQLite workspace, sending to a real SMTP server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from tests.domain.campaigns.builders import BODY_EN, BODY_ZH, add_audience
from tests.mailserver import SmtpServer, free_port
from typer.testing import CliRunner

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
def workspace(tmp_path: Path) -> dict[str, str]:
    """A workspace with four consenting customers in the saved list ``everyone``; returns
    its environment (no mail settings yet)."""
    env = {"SOLOIST_MASTER_KEY": generate_master_key(), "SOLOIST_WORKSPACE": str(tmp_path / "ws")}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    database = open_workspace(load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env))
    try:
        add_audience(database, 4, chinese_every=2)
    finally:
        database.dispose()
    return env


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _files(folder: Path, **texts: str) -> dict[str, str]:
    paths = {}
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    return paths


def _create(env: dict[str, str], body_file: str, *extra: str) -> Result:
    return _run(
        env, "campaign", "create", "Spring beans", "--segment", "everyone",
        "--subject", "{{ customer.first_name }}, new beans are in", "--body-file", body_file,
        *extra,
    )  # fmt: skip


def test_create_translate_preview_test_send_and_status(
    workspace: dict[str, str], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    env = {**workspace, **smtp_server.environ}
    files = _files(tmp_path, **{"body.html": BODY_EN, "zh.html": BODY_ZH})
    created = _json(_create(env, files["body.html"], "--json"))
    number = str(created["id"])
    assert (created["status"], created["audience"]["reachable"]) == ("draft", 4)
    plain = _create(env, files["body.html"])
    assert plain.exit_code == 0
    assert "Created campaign 2" in plain.stdout
    assert "soloist campaign send 2" in plain.stdout
    assert _run(env, "campaign", "cancel", "2").exit_code == 0

    subject = "{{ customer.name }}，新豆到了"
    translated = _run(env, "campaign", "translate", number, "--language", "zh-CN",
                      "--subject", subject, "--body-file", files["zh.html"])  # fmt: skip
    assert translated.exit_code == 0, translated.output
    assert "en, zh-CN" in translated.stdout

    preview = _json(_run(env, "campaign", "preview", number, "--json"))
    assert {"subject", "html", "text", "language"} <= set(preview)
    assert preview["subject"] == "Ada, new beans are in"
    as_customer = _run(env, "campaign", "preview", number, "--customer", "c1@example.net")
    assert as_customer.exit_code == 0, as_customer.output
    assert "Subject: Cleo, new beans are in" in as_customer.stdout
    assert "Hello Cleo," in as_customer.stdout
    chinese = _json(_run(env, "campaign", "preview", number, "--language", "zh-CN", "--json"))
    assert (chinese["language"], chinese["subject"]) == ("zh-CN", "Ada Lovelace，新豆到了")

    tested = _run(env, "campaign", "test", number, "--to", "owner@coffee.example")
    assert tested.exit_code == 0, tested.output
    assert [m.rcpt_tos for m in smtp_server.handler.messages()] == [["owner@coffee.example"]]

    report = _json(_run(env, "campaign", "send", number, "--json"))
    assert (report["status"], report["sent"], report["failed"]) == ("sent", 4, 0)
    received = smtp_server.handler.messages()[1:]
    assert sorted(m.rcpt_tos[0] for m in received) == [f"c{i}@example.net" for i in range(4)]
    subjects = {str(m.message["Subject"]) for m in received}
    assert subjects == {"客户0，新豆到了", "Cleo, new beans are in", "客户2，新豆到了"}

    status = _json(_run(env, "campaign", "status", number, "--json"))
    contract = ("recipients", "sent", "failed", "suppressed", "clicked", "orders", "revenue")
    assert {k: status[k] for k in contract} == {
        "recipients": 4, "sent": 4, "failed": 0, "suppressed": 0, "clicked": 0, "orders": 0,
        "revenue": "0.00",
    }  # fmt: skip
    assert status["status"] == "sent"
    table = _run(env, "campaign", "status", number)
    assert table.exit_code == 0
    assert "recipients" in table.stdout
    again = _run(env, "campaign", "send", number)
    assert again.exit_code == 0
    assert "sent already" in again.stdout
    assert len(smtp_server.handler.messages()) == 5
    listed = _json(_run(env, "campaign", "list", "--json"))
    assert [(c["id"], c["status"]) for c in listed] == [(2, "cancelled"), (1, "sent")]


def test_a_bad_template_is_an_error_naming_the_file_and_line(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    files = _files(
        tmp_path,
        **{"broken.txt": "Hello {{ customer.first_name }},\n\n\nNews.\n\n{{ customer.name }\n"},
    )
    result = _create(workspace, files["broken.txt"])
    assert result.exit_code == 1
    assert "Error: broken.txt: The html template has an error on line 6" in result.stderr
    assert "Traceback" not in result.output
    bad_subject = _run(workspace, "campaign", "create", "x", "--segment", "everyone",
                       "--subject", "{% if %}", "--body-file", files["broken.txt"])  # fmt: skip
    assert bad_subject.exit_code == 1
    assert "Error: --subject: The subject template has an error on line 1" in bad_subject.stderr
    unknown = _run(workspace, "campaign", "status", "99")
    assert (unknown.exit_code, unknown.stderr.strip()) == (1, "Error: No campaign 99.")
    assert _json(_run(workspace, "campaign", "list", "--json")) == []


def test_send_without_mail_settings_names_them_and_changes_nothing(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    files = _files(tmp_path, **{"body.html": BODY_EN})
    number = str(_json(_create(workspace, files["body.html"], "--json"))["id"])
    result = _run(workspace, "campaign", "send", number)
    assert result.exit_code == 1
    assert "SOLOIST_SMTP_HOST" in result.stderr
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output
    (campaign,) = _json(_run(workspace, "campaign", "list", "--json"))
    assert (campaign["status"], campaign["messages"]) == ("draft", {})


def test_a_send_the_server_stopped_continues_where_it_stopped(
    workspace: dict[str, str], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    files = _files(tmp_path, **{"body.html": BODY_EN})
    away = {**workspace, **smtp_server.environ, "SOLOIST_SMTP_PORT": str(free_port())}
    number = str(_json(_create(away, files["body.html"], "--json"))["id"])
    for _ in range(6):  # as a worker tries again and again while the server is away
        stopped = _run(away, "campaign", "send", number)
        assert stopped.exit_code == 1
        assert "cannot be reached" in stopped.stderr
        assert f"soloist campaign send {number}` again" in stopped.stderr
    (campaign,) = _json(_run(away, "campaign", "list", "--json"))
    assert (campaign["status"], campaign["messages"]) == ("sending", {"queued": 4})

    back = {**workspace, **smtp_server.environ}
    report = _json(_run(back, "campaign", "send", number, "--json"))
    assert (report["status"], report["sent"]) == ("sent", 4)
    assert len(smtp_server.handler.messages()) == 4


def test_schedule_unschedule_pause_and_cancel(workspace: dict[str, str], tmp_path: Path) -> None:
    files = _files(tmp_path, **{"body.html": BODY_EN})
    number = str(_json(_create(workspace, files["body.html"], "--json"))["id"])
    scheduled = _json(_run(workspace, "campaign", "schedule", number, "--at",
                           "2099-01-05T09:00+01:00", "--json"))  # fmt: skip
    assert (scheduled["status"], scheduled["scheduled_at"]) == (
        "scheduled", "2099-01-05T08:00:00+00:00",
    )  # fmt: skip
    bad = _run(workspace, "campaign", "schedule", number, "--at", "next tuesday")
    assert bad.exit_code == 2
    past = _run(workspace, "campaign", "schedule", number, "--at", "2001-01-01T09:00Z")
    assert past.exit_code == 1
    assert _run(workspace, "campaign", "unschedule", number).exit_code == 0
    paused = _run(workspace, "campaign", "pause", number)
    assert paused.exit_code == 1
    assert "it cannot become paused" in paused.stderr
    assert "is cancelled" in _run(workspace, "campaign", "cancel", number).stdout
    refused = _run(workspace, "campaign", "send", number)
    assert refused.exit_code == 1
    assert "cancelled; it cannot be sent" in refused.stderr


def test_save_list_takes_ids_and_addresses_and_names_an_unknown_line(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    files = _files(
        tmp_path,
        **{"few.txt": "# the first two\nc0@example.net\n2\nC0@Example.net\n\n",
           "bad.txt": "1\nnobody@example.net\n"},
    )  # fmt: skip
    saved = _json(_run(workspace, "segments", "save-list", "Few", "--customers", files["few.txt"],
                       "--json"))  # fmt: skip
    assert (saved["name"], saved["kind"], saved["customers"]) == ("Few", "list", 2)
    refused = _run(workspace, "segments", "save-list", "Bad", "--customers", files["bad.txt"])
    assert refused.exit_code == 1
    assert "line 2: 'nobody@example.net'" in refused.stderr
    body = _files(tmp_path, **{"body.html": BODY_EN})["body.html"]
    created = _json(_run(workspace, "campaign", "create", "Few", "--segment", "Few",
                         "--subject", "Hi", "--body-file", body, "--json"))  # fmt: skip
    assert created["audience"] == {"segment": 2, "reachable": 2}
