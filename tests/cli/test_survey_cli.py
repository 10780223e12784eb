"""`soloist survey …` in-process through Typer's runner on a SQLite workspace: a link printed
alone (and as JSON), a link mailed to a real SMTP server on loopback, the errors, and the
settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.mailserver import SmtpServer
from typer.testing import CliRunner, Result

from soloist.cli.main import app
from soloist.config import load_settings
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.surveys import open_survey
from soloist.domain.workspace import open_workspace
from soloist.storage.crypto import generate_master_key
from soloist.storage.models import SurveyLink, Ticket

runner = CliRunner()
PUBLIC_URL = "https://crm.coffee.example"  # tests/mailserver.py's


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, smtp_server: SmtpServer) -> dict[str, str]:
    """A workspace with an English customer (and a ticket of theirs) and a Chinese one."""
    values = {
        "SOLOIST_MASTER_KEY": generate_master_key(),
        "SOLOIST_WORKSPACE": str(tmp_path / "ws"),
        **smtp_server.environ,
    }
    assert runner.invoke(app, ["init"], env=values).exit_code == 0
    database = open_workspace(load_settings(workspace=tmp_path / "ws", environ=values))
    try:
        with database.session() as session:
            for name, email, language in (
                ("Cleo Brown", "cleo@example.net", "en"),
                ("王小明", "wang@example.cn", "zh-CN"),
            ):
                create_customer(
                    session, CustomerCreate(name=name, email=email, language=language), "test"
                )
            session.add(Ticket(customer_id=1, subject="Grinder too loud", status="resolved"))
    finally:
        database.dispose()
    return values


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def _question(env: dict[str, str], url: str) -> Any:
    database = open_workspace(load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env))
    try:
        with database.read_session() as session:
            return open_survey(session, database.keyring, url.rsplit("/", 1)[1])
    finally:
        database.dispose()


def test_a_link_is_printed_alone_and_opens_its_survey(env: dict[str, str]) -> None:
    result = _run(env, "survey", "link", "cleo@example.net", "--kind", "csat", "--ticket", "1")
    assert result.exit_code == 0, result.output
    (url,) = result.stdout.splitlines()
    assert url.startswith(f"{PUBLIC_URL}/s/")
    question = _question(env, url)
    assert (question.kind, question.customer_id, question.ticket_subject) == (
        "csat",
        1,
        "Grinder too loud",
    )


def test_a_link_as_json_names_its_fields(env: dict[str, str]) -> None:
    result = _run(env, "survey", "link", "2", "--kind", "nps", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert {"id", "url", "kind", "customer_id", "ticket_id", "expires_at", "sent_at"} <= set(made)
    assert (made["kind"], made["customer_id"], made["sent_at"]) == ("nps", 2, None)
    assert made["url"].endswith(made["url"].rsplit("/", 1)[1])


def test_send_mails_the_printed_link_in_the_customers_language(
    env: dict[str, str], smtp_server: SmtpServer
) -> None:
    result = _run(env, "survey", "link", "wang@example.cn", "--kind", "nps", "--send", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["sent_at"] is not None
    assert made["sent_to"] == "wang@example.cn"
    (received,) = smtp_server.handler.messages()
    assert received.rcpt_tos == ["wang@example.cn"]
    assert received.message["Subject"] == "Ada's Coffee 想问您一个问题"
    text = received.message.get_content()
    assert made["url"] in text
    assert "您有多大可能向朋友或同事推荐 Ada's Coffee？" in text
    database = open_workspace(load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env))
    try:
        with database.read_session() as session:
            assert session.scalar(select(SurveyLink.sent_at)) is not None
    finally:
        database.dispose()


def test_a_wrong_customer_or_kind_is_an_error_and_makes_no_link(env: dict[str, str]) -> None:
    nobody = _run(env, "survey", "link", "nobody@example.net", "--kind", "csat")
    assert nobody.exit_code == 1
    assert nobody.stderr.startswith("Error: No customer 'nobody@example.net'")
    others = _run(env, "survey", "link", "2", "--kind", "csat", "--ticket", "1")
    assert others.exit_code == 1
    assert "not customer 2's" in others.stderr
    stars = _run(env, "survey", "link", "1", "--kind", "stars")
    assert stars.exit_code == 2
    assert "Traceback" not in stars.output
    database = open_workspace(load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env))
    try:
        with database.read_session() as session:
            assert session.scalars(select(SurveyLink)).all() == []
    finally:
        database.dispose()


def test_settings_are_shown_and_changed(env: dict[str, str]) -> None:
    shown = _run(env, "survey", "settings", "--json")
    assert json.loads(shown.stdout) == {
        "expiry_days": 30,
        "edit_minutes": 0,
        "csat_on_resolve": True,
    }
    changed = _run(
        env, "survey", "settings", "--edit-minutes", "60", "--no-csat-on-resolve", "--json"
    )
    assert json.loads(changed.stdout) == {
        "expiry_days": 30,
        "edit_minutes": 60,
        "csat_on_resolve": False,
    }
    wrong = _run(env, "survey", "settings", "--expiry-days", "0")
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("Error: expiry_days")
    made = json.loads(_run(env, "survey", "link", "1", "--kind", "ces", "--json").stdout)
    database = open_workspace(load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env))
    try:
        with database.read_session() as session:
            link = session.get(SurveyLink, made["id"])
            assert link is not None
            assert link.edit_minutes == 60
    finally:
        database.dispose()
