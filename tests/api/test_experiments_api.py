"""A campaign's A/B test and holdout through /api/v1 on every database, sent by the worker to a
real SMTP server on loopback: the test set before the send with its guide, the rule's look
deciding a clear winner that goes to the rest, the owner's own choice, the holdout's measured
effect, and the sample-size guide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from soloist.api.experiments import ExperimentResults, HoldoutEffect
from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.campaigns import (
    create_campaign,
    experiment_results,
    holdout_effect,
    send_due_campaigns,
    set_experiment,
    take_look,
)
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.users import add_user, create_token
from soloist.storage.database import Database
from soloist.storage.models import Campaign, Message
from tests.api.conftest import PASSWORD, bearer
from tests.domain.campaigns.builders import ACTOR, BODY_EN, add_audience
from tests.mailserver import SmtpServer

SEED = 20261205  # the campaign's lottery, fixed so that every engine draws the same arms
B_SUBJECT = "B: {{ customer.first_name }}, taste the new beans"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_client(database: Database, smtp_server: SmtpServer) -> Iterator[TestClient]:
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    with TestClient(create_app(database.settings, database)) as client:
        yield client


def _create(client: TestClient, token: str, **fields: Any) -> int:
    body = {"name": "Beans A/B", "segment": "everyone", "subject": "A: new beans",
            "body": BODY_EN, **fields}  # fmt: skip
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    _fix_seed(client, response.json()["id"])
    return int(response.json()["id"])


def _fix_seed(client: TestClient, campaign_id: int) -> None:
    database: Database = client.app.state.database  # type: ignore[attr-defined]
    with database.session() as session:
        session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(assignment_seed=SEED)
        )


def _add_variant(client: TestClient, token: str, campaign_id: int) -> Any:
    return client.put(
        f"/api/v1/campaigns/{campaign_id}/variants/B/contents/en",
        json={"subject": B_SUBJECT, "body": BODY_EN},
        headers=bearer(token),
    )


def _send(client: TestClient, database: Database, token: str, campaign_id: int) -> None:
    queued = client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=bearer(token))
    assert queued.status_code == 202, queued.text
    send_due_campaigns(database, "test")


def _click(database: Database, campaign_id: int, variant: str, share: float) -> None:
    """Mark the first ``share`` of the variant's sent messages clicked (by people)."""
    with database.session() as session:
        ids = list(session.scalars(
            select(Message.id)
            .where(Message.campaign_id == campaign_id, Message.variant == variant,
                   Message.status == "sent")
            .order_by(Message.id)
        ))  # fmt: skip
        chosen = ids[: round(len(ids) * share)]
        if chosen:
            session.execute(
                update(Message)
                .where(Message.id.in_(chosen))
                .values(clicked_at=dt.datetime.now(dt.UTC))
            )


def _subjects(smtp_server: SmtpServer, start: int = 0) -> list[str]:
    return [str(m.message["Subject"]) for m in smtp_server.handler.messages()[start:]]


def test_a_clear_winner_is_decided_by_the_rule_and_goes_to_the_rest(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 120)
    write, read = tokens["write"], tokens["read"]
    number = _create(mail_client, write)
    variant = _add_variant(mail_client, write, number)
    assert variant.status_code == 200, variant.text
    assert variant.json()["variants"] == ["A", "B"]
    assert variant.json()["variant_contents"]["B"]["en"]["subject"] == B_SUBJECT
    assert list(variant.json()["contents"]) == ["en"]  # A's versions, as before
    lower = mail_client.put(
        f"/api/v1/campaigns/{number}/variants/b/contents/en",
        json={"subject": "x", "body": "x"}, headers=bearer(write),
    )  # fmt: skip
    assert lower.status_code == 422

    design = {"metric": "click", "baseline_rate": 0.05, "minimum_lift": 0.05,
              "test_share": 0.5, "looks": 3, "decision_hours": 72}  # fmt: skip
    path = f"/api/v1/campaigns/{number}/experiment"
    assert mail_client.put(path, json=design, headers=bearer(read)).status_code == 403
    planned = mail_client.put(path, json=design, headers=bearer(write))
    assert planned.status_code == 200, planned.text
    found = planned.json()
    assert (found["status"], found["winner"], found["waiting"]) == ("planned", None, 0)
    guide = found["guide"]
    assert (guide["reachable"], guide["per_variant"], guide["variants"]) == (120, 30, 2)
    assert guide["needed_per_variant"] == found["needed_per_variant"] > 30
    assert not guide["enough"]
    assert mail_client.get(path, headers=bearer(read)).json()["status"] == "planned"

    _send(mail_client, database, write, number)
    tested = len(smtp_server.handler.messages())
    assert 40 <= tested <= 80  # half the list is in the test; the rest waits for the winner
    assert {s[:2] for s in _subjects(smtp_server)} == {"A:", "B:"}
    late = mail_client.put(path, json=design, headers=bearer(write))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "campaign_state")
    running = mail_client.get(path, headers=bearer(read)).json()
    assert running["guide"] is None
    assert running["waiting"] == 120 - tested
    assert sum(arm["sent"] for arm in running["variants"]) == tested

    _click(database, number, "B", 0.6)  # A: nobody clicks
    start = dt.datetime.now(dt.UTC)
    with database.session() as session:
        assert take_look(session, number, "USD", start + dt.timedelta(hours=1), ACTOR) is None
    with database.session() as session:
        look = take_look(session, number, "USD", start + dt.timedelta(hours=73), ACTOR)
    assert look is not None
    assert look["tests"]["B"]["crossed"]

    decided = mail_client.get(path, headers=bearer(read)).json()
    assert (decided["status"], decided["winner"], decided["decision"]) == (
        "decided", "B", "winner",
    )  # fmt: skip
    assert len(decided["looks_taken"]) == 1
    a, b = decided["variants"]
    assert (a["variant"], a["successes"], b["variant"]) == ("A", 0, "B")
    assert b["rate"] == pytest.approx(0.6, abs=0.03)
    assert b["against_a"]["p_value"] < 0.01
    assert b["against_a"]["ci_low"] > 0
    assert b["probability_best"] > 0.99
    again = mail_client.post(f"{path}/winner", json={"variant": "A"}, headers=bearer(write))
    assert again.status_code == 409

    send_due_campaigns(database, "test")
    rest = _subjects(smtp_server, tested)
    assert len(rest) == 120 - tested
    assert {s[:2] for s in rest} == {"B:"}
    detail = mail_client.get(f"/api/v1/campaigns/{number}", headers=bearer(read)).json()
    assert (detail["status"], detail["messages"]) == ("sent", {"sent": 120})


def test_the_owner_chooses_a_winner_and_bad_choices_are_refused(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    add_audience(database, 20)
    write, read = tokens["write"], tokens["read"]
    number = _create(mail_client, write)
    _add_variant(mail_client, write, number)
    path = f"/api/v1/campaigns/{number}/experiment"
    none = mail_client.get(path, headers=bearer(read))
    assert (none.status_code, none.json()["error"]["code"]) == (404, "not_found")
    assert mail_client.post(f"{path}/winner", json={"variant": "B"},
                            headers=bearer(write)).status_code == 404  # fmt: skip
    impossible = mail_client.put(
        path, json={"baseline_rate": 0.9, "minimum_lift": 0.2}, headers=bearer(write)
    )
    assert impossible.status_code == 422
    assert impossible.json()["error"]["details"]["field"] == "minimum_lift"
    looks = mail_client.put(
        path, json={"baseline_rate": 0.05, "minimum_lift": 0.01, "looks": 50},
        headers=bearer(write),
    )  # fmt: skip
    assert looks.status_code == 422

    design = {"baseline_rate": 0.05, "minimum_lift": 0.05, "test_share": 0.5}
    assert mail_client.put(path, json=design, headers=bearer(write)).status_code == 200
    removed = mail_client.delete(path, headers=bearer(write))
    assert removed.status_code == 200, removed.text
    assert removed.json()["variants"] == ["A", "B"]
    assert mail_client.get(path, headers=bearer(read)).status_code == 404
    assert mail_client.put(path, json=design, headers=bearer(write)).status_code == 200
    early = mail_client.post(f"{path}/winner", json={"variant": "B"}, headers=bearer(write))
    assert (early.status_code, early.json()["error"]["code"]) == (409, "conflict")

    _send(mail_client, database, write, number)
    tested = len(smtp_server.handler.messages())
    assert 0 < tested < 20
    unknown = mail_client.post(f"{path}/winner", json={"variant": "Z"}, headers=bearer(write))
    assert (unknown.status_code, unknown.json()["error"]["details"]["field"]) == (422, "variant")
    assert mail_client.post(f"{path}/winner", json={"variant": "B"},
                            headers=bearer(read)).status_code == 403  # fmt: skip
    chosen = mail_client.post(f"{path}/winner", json={"variant": "B"}, headers=bearer(write))
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["decision"], chosen.json()["winner"]) == ("manual", "B")
    assert mail_client.delete(path, headers=bearer(write)).status_code == 409

    send_due_campaigns(database, "test")
    rest = _subjects(smtp_server, tested)
    assert len(rest) == 20 - tested
    assert {s[:2] for s in rest} == {"B:"}


def test_a_holdout_gets_nothing_and_measures_what_the_campaign_caused(
    mail_client: TestClient, database: Database, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    ids = add_audience(database, 60)
    write, read = tokens["write"], tokens["read"]
    number = _create(mail_client, write)
    campaign = f"/api/v1/campaigns/{number}"
    patched = mail_client.patch(
        campaign, json={"holdout_share": 0.3, "send_time": "now", "send_window_hours": 24},
        headers=bearer(write),
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in ("holdout_share", "send_time", "send_window_hours")} == {
        "holdout_share": 0.3, "send_time": "now", "send_window_hours": 24,
    }  # fmt: skip
    for bad in ({"holdout_share": 0.7}, {"send_time": "later"}, {"send_window_hours": 0}):
        assert mail_client.patch(campaign, json=bad, headers=bearer(write)).status_code == 422
    unsent = mail_client.get(f"{campaign}/holdout", headers=bearer(read))
    assert (unsent.status_code, unsent.json()["error"]["code"]) == (404, "not_found")

    _send(mail_client, database, write, number)
    with database.read_session() as session:
        statuses = dict(session.execute(
            select(Message.customer_id, Message.status).where(Message.campaign_id == number)
        ).all())  # fmt: skip
    held_out = {c for c, s in statuses.items() if s == "holdout"}
    received = {m.rcpt_tos[0] for m in smtp_server.handler.messages()}
    assert 8 <= len(held_out) <= 30
    assert received == {f"c{i}@example.net" for i, c in enumerate(ids) if c not in held_out}
    with database.session() as session:  # every other receiver buys; the holdout does not
        for n, customer_id in enumerate(c for c in ids if c not in held_out):
            if n % 2 == 0:
                record_order(session, OrderCreate(
                    external_id=f"o{customer_id}", customer_id=customer_id,
                    ordered_at=dt.datetime.now(dt.UTC), currency="USD", total=Decimal("20.00"),
                ), ACTOR)  # fmt: skip

    answer = mail_client.get(f"{campaign}/holdout", headers=bearer(read))
    assert answer.status_code == 200, answer.text
    effect = answer.json()
    assert (effect["receivers"], effect["holdout"]) == (60 - len(held_out), len(held_out))
    assert effect["bought"]["holdout_rate"] == 0
    assert effect["bought"]["receivers_rate"] == pytest.approx(0.5, abs=0.03)
    assert Decimal(effect["incremental_revenue"]) > 0
    assert Decimal(effect["incremental_revenue_low"]) <= Decimal(effect["incremental_revenue"])
    assert (effect["days"], effect["complete"], effect["holdout_share"]) == (7, False, 0.3)
    with database.read_session() as session:
        figures = holdout_effect(session, number, "USD", dt.datetime.now(dt.UTC))
    assert figures is not None
    assert set(HoldoutEffect.model_fields) == set(figures)

    plain = _create(mail_client, write, name="No holdout")
    _send(mail_client, database, write, plain)
    assert mail_client.get(f"/api/v1/campaigns/{plain}/holdout",
                           headers=bearer(read)).status_code == 404  # fmt: skip


@pytest.fixture
def sqlite_client(sqlite_database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        yield client


@pytest.fixture
def read_token(sqlite_database: Database) -> str:
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        _, token = create_token(session, "owner@example.com", "read", "test")
    return token


def test_the_sample_size_guide_says_when_a_list_is_too_small(
    sqlite_client: TestClient, read_token: str
) -> None:
    path = "/api/v1/experiments/sample-size"
    small = sqlite_client.get(
        path, params={"baseline": 0.05, "lift": 0.01, "reachable": 600, "looks": 1},
        headers=bearer(read_token),
    )  # fmt: skip
    assert small.status_code == 200, small.text
    guide = small.json()
    assert (guide["needed_per_variant"], guide["per_variant"], guide["enough"]) == (
        8158,
        300,
        False,
    )
    assert guide["detectable_lift"] > 0.04
    big = sqlite_client.get(
        path, params={"baseline": 0.05, "lift": 0.05, "reachable": 2000, "looks": 1,
                      "variants": 3, "holdout_share": 0.1},
        headers=bearer(read_token),
    ).json()  # fmt: skip
    assert (big["variants"], big["per_variant"], big["needed_total"]) == (
        3, 600, 3 * big["needed_per_variant"],
    )  # fmt: skip
    for bad in ({"baseline": 1.5, "lift": 0.01, "reachable": 10},
                {"baseline": 0.05, "reachable": 10},
                {"baseline": 0.05, "lift": 0.01, "reachable": -1}):  # fmt: skip
        refused = sqlite_client.get(path, params=bad, headers=bearer(read_token))
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert sqlite_client.get(path, params={"baseline": 0.05, "lift": 0.01,
                                           "reachable": 10}).status_code == 401  # fmt: skip


def test_the_results_schema_names_every_figure_of_the_results(sqlite_database: Database) -> None:
    add_audience(sqlite_database, 2)
    with sqlite_database.session() as session:
        number = create_campaign(session, name="x", segment="everyone", subject="Hi",
                                 body=BODY_EN, actor=ACTOR).id  # fmt: skip
        set_experiment(session, number, ACTOR, baseline_rate=0.05, minimum_lift=0.01)
        figures = experiment_results(session, number, "USD")
    assert figures is not None
    assert set(ExperimentResults.model_fields) == set(figures)
