"""`soloist campaign variant|experiment|guide|winner` and the A/B test and holdout in `campaign
status`, in-process through Typer's runner on a SQLite workspace, sending to a real SMTP server
on loopback."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.domain.campaigns.builders import ACTOR, BODY_EN, add_audience
from tests.mailserver import SmtpServer
from typer.testing import CliRunner, Result

from soloist.cli.main import app
from soloist.config import load_settings
from soloist.domain.campaigns import take_look
from soloist.domain.workspace import open_workspace
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.models import Campaign, Message

runner = CliRunner()
SEED = 20261205


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, str]:
    """A workspace with 40 consenting customers in the saved list ``everyone``."""
    env = {"SOLOIST_MASTER_KEY": generate_master_key(), "SOLOIST_WORKSPACE": str(tmp_path / "ws")}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    with _database(env) as database:
        add_audience(database, 40)
    return env


class _database:  # noqa: N801 (used as a function: `with _database(env) as database`)
    def __init__(self, env: dict[str, str]) -> None:
        settings = load_settings(workspace=Path(env["SOLOIST_WORKSPACE"]), environ=env)
        self.database = open_workspace(settings)

    def __enter__(self) -> Database:
        return self.database

    def __exit__(self, *exc: object) -> None:
        self.database.dispose()


def _run(env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, list(args), env=env)


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _file(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _create(env: dict[str, str], body: str, *extra: str) -> int:
    created = _json(_run(env, "campaign", "create", "Beans A/B", "--segment", "everyone",
                         "--subject", "A: new beans", "--body-file", body, "--json",
                         *extra))  # fmt: skip
    with _database(env) as database, database.session() as session:
        session.execute(
            update(Campaign).where(Campaign.id == created["id"]).values(assignment_seed=SEED)
        )
    return int(created["id"])


def test_a_variant_a_test_and_a_holdout_are_sent_and_the_winner_goes_to_the_rest(
    workspace: dict[str, str], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    env = {**workspace, **smtp_server.environ}
    body = _file(tmp_path, "body.html", BODY_EN)
    created = _json(_run(env, "campaign", "create", "Beans", "--segment", "everyone",
                         "--subject", "Hi", "--body-file", body, "--holdout", "0.2",
                         "--send-time", "optimised", "--window", "24", "--json"))  # fmt: skip
    assert (created["holdout_share"], created["send_time"], created["send_window_hours"]) == (
        0.2, "optimised", 24,
    )  # fmt: skip
    assert _run(env, "campaign", "create", "x", "--segment", "everyone", "--subject", "Hi",
                "--body-file", body, "--send-time", "later").exit_code == 2  # fmt: skip
    too_big = _run(env, "campaign", "create", "x", "--segment", "everyone", "--subject", "Hi",
                   "--body-file", body, "--holdout", "0.9")  # fmt: skip
    assert too_big.exit_code == 1
    assert "holdout_share must be 0 to 0.5" in too_big.stderr

    number = _create(env, body, "--holdout", "0.2")
    variant = _run(env, "campaign", "variant", str(number), "B", "--subject", "B: new beans",
                   "--body-file", body)  # fmt: skip
    assert variant.exit_code == 0, variant.output
    assert f"Saved variant B (en) of campaign {number}; it has variants A, B." in variant.stdout
    assert "Without a test only A is sent" in variant.stdout
    assert _run(env, "campaign", "variant", str(number), "BB", "--subject", "x",
                "--body-file", body).exit_code == 2  # fmt: skip

    missing = _run(env, "campaign", "experiment", str(number), "--baseline", "0.05")
    assert missing.exit_code == 2
    planned = _run(env, "campaign", "experiment", str(number), "--metric", "click",
                   "--baseline", "0.05", "--lift", "0.05", "--test-share", "0.5",
                   "--looks", "3")  # fmt: skip
    assert planned.exit_code == 0, planned.output
    text = " ".join(planned.stdout.split())
    assert "A/B test of A, B on clicks" in text
    assert "each variant needs" in text
    assert "The list gives each variant 8: 40 reachable (50% of it in the test, 20% held out)" in (
        text
    )
    assert "Warning: the list is too small for this test" in text
    assert "smallest lift it finds with 80% power" in text
    design = _json(_run(env, "campaign", "experiment", str(number), "--baseline", "0.05",
                        "--lift", "0.05", "--test-share", "0.5", "--looks", "3",
                        "--json"))  # fmt: skip
    assert (design["status"], design["guide"]["reachable"], design["looks"]) == ("planned", 40, 3)

    report = _json(_run(env, "campaign", "send", str(number), "--json"))
    tested = len(smtp_server.handler.messages())
    assert (report["sent"], report["failed"]) == (tested, 0)
    assert {str(m.message["Subject"])[:2] for m in smtp_server.handler.messages()} == {"A:", "B:"}

    with _database(env) as database:
        with database.session() as session:
            ids = session.scalars(
                select(Message.id).where(Message.variant == "B", Message.status == "sent")
            ).all()
            session.execute(
                update(Message)
                .where(Message.id.in_(ids[:1]))  # below the planned information: running
                .values(clicked_at=dt.datetime.now(dt.UTC))
            )
        with database.session() as session:  # the rule's first look, a day later
            later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
            assert take_look(session, number, "USD", later, ACTOR) is not None
    status = _json(_run(env, "campaign", "status", str(number), "--json"))
    contract = ("recipients", "sent", "failed", "suppressed", "clicked", "orders", "revenue")
    assert set(contract) <= set(status)
    experiment = status["experiment"]
    assert (experiment["status"], experiment["winner"]) == ("running", None)
    assert [arm["variant"] for arm in experiment["variants"]] == ["A", "B"]
    assert experiment["variants"][1]["successes"] == 1
    assert experiment["waiting"] > 0
    holdout = status["holdout"]
    # The test's remainder is neither: it has received nothing yet.
    assert holdout["holdout"] + holdout["receivers"] + experiment["waiting"] == 40
    assert holdout["bought"]["receivers_rate"] == 0

    table = _run(env, "campaign", "status", str(number))
    assert table.exit_code == 0, table.output
    shown = " ".join(table.stdout.split())
    for words in ("A/B test on clicks (running)", "P(best)", "Running: no decision after 1 of 3",
                  "recipients wait for the winner", "Holdout:", "Incremental revenue: 0.00 USD",
                  "0.00 USD attributed"):  # fmt: skip
        assert words in shown

    chosen = _json(_run(env, "campaign", "winner", str(number), "b", "--json"))
    rest = smtp_server.handler.messages()[tested:]
    assert chosen["variant"] == "B"
    assert chosen["send"]["sent"] == len(rest) == experiment["waiting"]
    assert {str(m.message["Subject"])[:2] for m in rest} == {"B:"}
    again = _run(env, "campaign", "winner", str(number), "A")
    assert again.exit_code == 1
    assert "The test was decided already (manual, B)" in again.stderr
    final = _run(env, "campaign", "status", str(number))
    assert "You chose variant B for the rest" in " ".join(final.stdout.split())


def test_the_guide_alone_and_removing_a_test(workspace: dict[str, str], tmp_path: Path) -> None:
    guide = _json(_run(workspace, "campaign", "guide", "--baseline", "0.05", "--lift", "0.01",
                       "--reachable", "600", "--looks", "1", "--json"))  # fmt: skip
    assert (guide["needed_per_variant"], guide["per_variant"], guide["enough"]) == (
        8158, 300, False,
    )  # fmt: skip
    by_segment = _run(workspace, "campaign", "guide", "--baseline", "0.05", "--lift", "0.01",
                      "--segment", "everyone", "--variants", "3")  # fmt: skip
    assert by_segment.exit_code == 0, by_segment.output
    text = " ".join(by_segment.stdout.split())
    assert "for 3 variants" in text
    assert "The list gives each variant 13: 40 reachable." in text
    assert "Warning: the list is too small" in text
    plenty = _run(workspace, "campaign", "guide", "--baseline", "0.05", "--lift", "0.05",
                  "--reachable", "5000")  # fmt: skip
    assert "Warning" not in plenty.stdout
    assert _run(workspace, "campaign", "guide", "--baseline", "0.05", "--lift",
                "0.01").exit_code == 2  # fmt: skip
    bad = _run(workspace, "campaign", "guide", "--baseline", "2", "--lift", "0.01",
               "--reachable", "10")  # fmt: skip
    assert bad.exit_code == 1
    assert "baseline_rate must be between 0 and 1" in bad.stderr
    unknown = _run(workspace, "campaign", "guide", "--baseline", "0.05", "--lift", "0.01",
                   "--segment", "nobody")  # fmt: skip
    assert (unknown.exit_code, "No segment 'nobody'" in unknown.stderr) == (1, True)

    number = _create(workspace, _file(tmp_path, "body.html", BODY_EN))
    assert _run(workspace, "campaign", "experiment", str(number), "--baseline", "0.05",
                "--lift", "0.05").exit_code == 0  # fmt: skip
    removed = _run(workspace, "campaign", "experiment", str(number), "--remove")
    assert removed.exit_code == 0, removed.output
    assert "no A/B test now" in removed.stdout
    status = _json(_run(workspace, "campaign", "status", str(number), "--json"))
    assert (status["experiment"], status["holdout"]) == (None, None)
    refused = _run(workspace, "campaign", "winner", str(number), "B")
    assert (refused.exit_code, refused.stderr.strip()) == (
        1, f"Error: Campaign {number} has no A/B test.",
    )  # fmt: skip
