"""A/B tests, holdouts, the frequency cap and optimised send times of real campaigns sent to a
loopback SMTP server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from tests.domain.campaigns.builders import ACTOR, BODY_EN, add_audience
from tests.mailserver import SmtpServer

from soloist.domain.campaigns import (
    SendPolicy,
    assign_arm,
    create_campaign,
    experiment_results,
    holdout_effect,
    sample_size_guide,
    send_campaign,
    send_winner,
    set_content,
    set_experiment,
    take_look,
)
from soloist.domain.orders import OrderCreate, record_order
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Campaign, CampaignExperiment, Message

START = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)  # a Monday morning


def _ab_campaign(
    database: Database, *, holdout: float = 0.0, test_share: float = 1.0, variants: str = "AB"
) -> int:
    with database.session() as session:
        campaign = create_campaign(
            session, name="Beans A/B", segment="everyone", subject="A: new beans",
            body=BODY_EN, actor=ACTOR,
        )  # fmt: skip
        for variant in variants[1:]:
            set_content(session, campaign.id, "en", f"{variant}: new beans", BODY_EN, ACTOR,
                        variant=variant)  # fmt: skip
        campaign.holdout_share, campaign.assignment_seed = holdout, 20261205
        if len(variants) > 1:
            set_experiment(
                session, campaign.id, ACTOR, metric="click", baseline_rate=0.05,
                minimum_lift=0.05, test_share=test_share, looks=3, decision_hours=72,
            )  # fmt: skip
        return campaign.id


def _click(database: Database, campaign_id: int, variant: str, share: float) -> None:
    """Mark the first ``share`` of the variant's sent messages clicked."""
    with database.session() as session:
        ids = list(
            session.scalars(
                select(Message.id)
                .where(Message.campaign_id == campaign_id, Message.variant == variant,
                       Message.status == "sent")
                .order_by(Message.id)
            )
        )  # fmt: skip
        chosen = ids[: round(len(ids) * share)]
        if chosen:
            session.execute(update(Message).where(Message.id.in_(chosen)).values(clicked_at=START))


def test_assignment_is_seeded_recorded_and_repeatable(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 400)
    campaign_id = _ab_campaign(mail_database, holdout=0.2)

    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)

    with mail_database.read_session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.assignment_seed is not None
        rows = session.execute(
            select(Message.customer_id, Message.status, Message.variant).where(
                Message.campaign_id == campaign_id
            )
        ).all()
    holdout = [r for r in rows if r.status == "holdout"]
    by_variant = {v: sum(1 for r in rows if r.variant == v) for v in "AB"}
    assert 50 <= len(holdout) <= 110  # 20 % of 400, drawn at random
    assert abs(by_variant["A"] - by_variant["B"]) < 60
    for row in rows:  # the stored arms are the seeded draw, derived again
        arm, variant = assign_arm(campaign.assignment_seed, row.customer_id, 0.2, ["A", "B"], 1.0)
        assert (row.status == "holdout") == (arm == "holdout")
        assert row.variant == variant
    received = smtp_server.handler.messages()
    assert len(received) == 400 - len(holdout)
    subjects = {item.message["Subject"][0] for item in received}
    assert subjects == {"A", "B"}


def test_a_clear_winner_is_declared_by_the_rule_and_sent_to_the_rest(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 600)
    campaign_id = _ab_campaign(mail_database, test_share=0.5)
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    tested = len(smtp_server.handler.messages())
    assert 230 <= tested <= 370  # half the list is in the test; the rest waits

    _click(mail_database, campaign_id, "A", 0.04)
    _click(mail_database, campaign_id, "B", 0.30)
    with mail_database.session() as session:  # before the first look's time: nothing
        assert take_look(session, campaign_id, "USD", START + dt.timedelta(hours=1), ACTOR) is None
    with mail_database.session() as session:
        look = take_look(session, campaign_id, "USD", START + dt.timedelta(hours=24), ACTOR)
    assert look is not None
    assert look["tests"]["B"]["crossed"]

    with mail_database.read_session() as session:
        experiment = session.scalar(select(CampaignExperiment))
        assert experiment is not None
        assert (experiment.status, experiment.winner, experiment.decision) == (
            "decided", "B", "winner",
        )  # fmt: skip
        results = experiment_results(session, campaign_id, "USD")
    assert results is not None
    b = next(arm for arm in results["variants"] if arm["variant"] == "B")
    assert b["against_a"]["p_value"] < 0.01
    assert b["against_a"]["probability_b_better"] > 0.99
    assert b["against_a"]["ci_low"] > 0

    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START + dt.timedelta(days=1))
    remainder = smtp_server.handler.messages()[tested:]
    assert len(remainder) == 600 - tested
    assert {item.message["Subject"][0] for item in remainder} == {"B"}
    with mail_database.read_session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == "sent"


def test_no_difference_keeps_the_control_once_the_planned_information_is_in(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 200)
    campaign_id = _ab_campaign(mail_database, test_share=0.5)
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    _click(mail_database, campaign_id, "A", 0.10)
    _click(mail_database, campaign_id, "B", 0.12)
    with mail_database.session() as session:
        # Clicks at 10-12 % against a plan of 7.5 %: the first look already holds the planned
        # information, spends all of alpha (a fixed test's 1.96) and finds no difference.
        look = take_look(session, campaign_id, "USD", START + dt.timedelta(hours=24), ACTOR)
        assert look is not None
        assert look["tests"]["B"]["boundary"] == pytest.approx(1.96, abs=0.01)
        assert not look["tests"]["B"]["crossed"]
        experiment = session.scalar(select(CampaignExperiment))
        assert experiment is not None
        assert (experiment.winner, experiment.decision) == ("A", "no_difference")
    with mail_database.session() as session:  # later looks have nothing left to decide
        assert take_look(session, campaign_id, "USD", START + dt.timedelta(hours=72), ACTOR) is None
        with pytest.raises(ConflictError):
            send_winner(session, campaign_id, "B", ACTOR, START + dt.timedelta(hours=73))
    with mail_database.read_session() as session:
        remainder = set(
            session.scalars(
                select(Message.variant).where(
                    Message.campaign_id == campaign_id, Message.status == "queued"
                )
            )
        )
    assert remainder == {"A"}  # the control goes to the rest


def test_a_last_look_without_new_clicks_still_spends_the_rest_of_alpha(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 400)
    campaign_id = _ab_campaign(mail_database)
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    _click(mail_database, campaign_id, "A", 0.01)
    _click(mail_database, campaign_id, "B", 0.05)  # below the plan: interim looks save alpha
    with mail_database.session() as session:
        first = take_look(session, campaign_id, "USD", START + dt.timedelta(hours=24), ACTOR)
        second = take_look(session, campaign_id, "USD", START + dt.timedelta(hours=48), ACTOR)
        last = take_look(session, campaign_id, "USD", START + dt.timedelta(hours=72), ACTOR)
    assert first is not None
    assert second is not None
    assert last is not None
    assert second["tests"]["B"].get("no_new_information")
    # No click since the first look, yet the final look has a boundary of its own (the rest of
    # alpha, on the same data) below the first look's.
    assert last["tests"]["B"]["boundary"] < first["tests"]["B"]["boundary"]
    assert last["tests"]["B"]["z"] == first["tests"]["B"]["z"]


def test_the_owner_can_send_a_variant_to_the_rest_before_the_rule_decides(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 100)
    campaign_id = _ab_campaign(mail_database, test_share=0.4)
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    with mail_database.session() as session:
        with pytest.raises(ValidationError):
            send_winner(session, campaign_id, "Z", ACTOR, START)
        send_winner(session, campaign_id, "B", ACTOR, START)
    with mail_database.read_session() as session:
        statuses = set(session.scalars(select(Message.status)))
        assert "waiting" not in statuses
        experiment = session.scalar(select(CampaignExperiment))
        assert experiment is not None
        assert experiment.decision == "manual"


def test_a_holdout_receives_nothing_and_measures_the_revenue_the_campaign_caused(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 300)
    campaign_id = _ab_campaign(mail_database, holdout=0.3, variants="A")
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    with mail_database.session() as session:
        rows = dict(
            session.execute(
                select(Message.customer_id, Message.status).where(
                    Message.campaign_id == campaign_id
                )
            ).all()
        )
        # Receivers buy one time in two, the holdout one time in five: a real effect.
        for number, customer_id in enumerate(ids):
            receiver = rows[customer_id] == "sent"
            if number % (2 if receiver else 5) == 0:
                record_order(session, OrderCreate(
                    external_id=f"o{customer_id}", customer_id=customer_id,
                    ordered_at=START + dt.timedelta(days=2), currency="USD",
                    total=Decimal("20.00"),
                ), ACTOR)  # fmt: skip
    held_out = {c for c, s in rows.items() if s == "holdout"}
    received = {item.rcpt_tos[0] for item in smtp_server.handler.messages()}
    assert held_out
    assert not any(f"c{ids.index(c)}@example.net" in received for c in held_out)

    with mail_database.read_session() as session:
        effect = holdout_effect(session, campaign_id, "USD", START + dt.timedelta(days=10))
    assert effect is not None
    assert effect["complete"]
    assert effect["holdout"] == len(held_out)
    assert effect["bought"]["receivers_rate"] == pytest.approx(0.5, abs=0.03)
    assert effect["bought"]["holdout_rate"] == pytest.approx(0.2, abs=0.06)
    revenue = effect["revenue_per_customer"]
    assert Decimal(revenue["difference"]) == pytest.approx(Decimal("6.0"), abs=Decimal("1.5"))
    assert Decimal(revenue["ci_low"]) > 0
    assert Decimal(effect["incremental_revenue_low"]) > 0
    assert effect["significant"]


def test_a_customer_at_the_weekly_cap_is_left_out(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 5)
    with mail_database.session() as session:
        for n in range(3):
            session.add(Message(
                campaign_id=None, customer_id=ids[0], channel="email", status="sent",
                idempotency_key=f"old:{n}", sent_at=START - dt.timedelta(days=1),
            ))  # fmt: skip
    first = _ab_campaign(mail_database, variants="A")
    send_campaign(mail_database, first, ACTOR, clock=lambda: START)  # messages without a
    # campaign (one-off notifications) do not count: everyone is reached
    assert len(smtp_server.handler.messages()) == 5
    settings = mail_database.settings.model_copy(update={"frequency_cap": 1})
    mail_database.settings = settings
    with mail_database.session() as session:
        second = create_campaign(session, name="Again", segment="everyone", subject="Again",
                                 body=BODY_EN, actor=ACTOR).id  # fmt: skip
    report = send_campaign(mail_database, second, ACTOR, clock=lambda: START)
    assert report.sent == 0
    with mail_database.read_session() as session:
        errors = set(session.scalars(select(Message.error).where(Message.campaign_id == second)))
    assert errors == {"frequency_cap"}


def test_optimised_send_times_spread_messages_over_each_customers_best_hour(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 40)
    campaign_id = _ab_campaign(mail_database, variants="A")
    with mail_database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.send_time, campaign.send_window_hours = "optimised", 24
    report = send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    with mail_database.read_session() as session:
        rows = session.execute(
            select(Message.status, Message.next_attempt_at).where(
                Message.campaign_id == campaign_id
            )
        ).all()
    waiting = [at for status, at in rows if status == "queued"]
    assert report.sent == sum(1 for status, _ in rows if status == "sent")
    assert len(waiting) + report.sent == 40
    assert len(waiting) > 20
    window = (START, START + dt.timedelta(hours=24))
    assert all(at is not None and window[0] < at <= window[1] for at in waiting)
    assert len(set(waiting)) > 3  # spread, not one hour for all
    later = START + dt.timedelta(hours=25)
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: later)
    assert len(smtp_server.handler.messages()) == 40


def test_quiet_hours_move_a_time_to_the_end_of_the_customers_night() -> None:
    policy = SendPolicy(quiet=(21, 8), timezone="Europe/London")
    late = dt.datetime(2026, 7, 1, 21, 30, tzinfo=dt.UTC)  # 22:30 in London (BST)
    assert policy.when(late, None) == dt.datetime(2026, 7, 2, 7, 0, tzinfo=dt.UTC)
    assert policy.when(late, "Asia/Shanghai") == dt.datetime(2026, 7, 2, 0, 0, tzinfo=dt.UTC)
    noon = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert policy.when(noon, None) == noon


def test_the_guide_says_when_a_list_is_too_small() -> None:
    small = sample_size_guide(baseline_rate=0.05, minimum_lift=0.01, reachable=600, looks=1)
    assert small["needed_per_variant"] == 8158
    assert not small["enough"]
    assert small["per_variant"] == 300
    assert small["power_at_size"] < 0.15
    assert small["detectable_lift"] is not None
    assert small["detectable_lift"] > 0.04
    big = sample_size_guide(baseline_rate=0.05, minimum_lift=0.05, reachable=2000, looks=1)
    assert big["enough"]


def test_an_a_b_n_test_compares_each_variant_with_a_at_a_bonferroni_level(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 600)
    campaign_id = _ab_campaign(mail_database, variants="ABC")
    send_campaign(mail_database, campaign_id, ACTOR, clock=lambda: START)
    _click(mail_database, campaign_id, "A", 0.05)
    _click(mail_database, campaign_id, "B", 0.25)
    _click(mail_database, campaign_id, "C", 0.06)
    with mail_database.session() as session:
        look = take_look(session, campaign_id, "USD", START + dt.timedelta(hours=24), ACTOR)
        results = experiment_results(session, campaign_id, "USD")
    assert look is not None
    assert look["tests"]["B"]["crossed"]
    assert not look["tests"]["C"]["crossed"]
    assert results is not None
    assert results["alpha_per_comparison"] == pytest.approx(0.025)
    assert (results["status"], results["winner"]) == ("decided", "B")
    best = {arm["variant"]: arm["probability_best"] for arm in results["variants"]}
    assert best["B"] > 0.99
    assert sum(best.values()) == pytest.approx(1.0, abs=1e-3)
