"""Journeys run by the worker's pass: each occasion once, under the cap and quiet hours, with a
holdout, the messages sent through a loopback SMTP server."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.domain.campaigns.builders import ACTOR, BODY_EN, add_audience
from tests.mailserver import SmtpServer

import soloist.domain.journeys.runner as journey_runner
from soloist.domain.campaigns import send_due_campaigns
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.domain.journeys import (
    create_journey,
    current_journey_effects,
    journey_effects,
    journey_results,
    journey_timeline,
    pause_journey,
    run_journeys,
    start_journey,
)
from soloist.domain.journeys.triggers import Occasion, find_occasions
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.reports.actions import journey_results_of
from soloist.storage.database import Database
from soloist.storage.models import (
    ConsentRecord,
    Customer,
    JourneyEntry,
    Message,
    Subscription,
    Task,
)
from soloist.storage.types import utcnow

NOON = dt.datetime(2026, 11, 4, 12, 0, tzinfo=dt.UTC)


def _journey(
    database: Database, trigger: str, started: dt.datetime | None = None, **options: object
) -> int:
    with database.session() as session:
        journey = create_journey(
            session, name=f"{trigger} journey", trigger=trigger, actor=ACTOR,
            subject="Hello {{ customer.first_name }}", body=BODY_EN,
            holdout_share=options.pop("holdout_share", 0.0), **options,  # type: ignore[arg-type]
        )  # fmt: skip
        start_journey(session, journey.id, ACTOR, started or NOON - dt.timedelta(days=1))
        return journey.id


def _settle(database: Database, now: dt.datetime) -> None:
    run_journeys(database, ACTOR, now)
    send_due_campaigns(database, ACTOR, clock=lambda: now)


def test_a_welcome_is_sent_once_per_new_customer_however_often_the_worker_runs(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(mail_database, 3)  # before the journey started: not welcomed
    journey_id = _journey(mail_database, "welcome", started=utcnow())
    add_audience(mail_database, 5, segment="new", domain="new.example")

    later = utcnow() + dt.timedelta(minutes=1)
    for _ in range(3):
        _settle(mail_database, later)

    received = sorted(item.rcpt_tos[0] for item in smtp_server.handler.messages())
    assert received == [f"c{i}@new.example" for i in range(5)]
    with mail_database.read_session() as session:
        results = journey_results(session, journey_id, "USD", later)
    assert results["by_state"] == {"sent": 5}
    assert results["messages"]["sent"] == 5


def test_two_runners_at_once_enter_and_send_each_occasion_once(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    _journey(mail_database, "welcome", started=utcnow())
    add_audience(mail_database, 20)
    now = utcnow() + dt.timedelta(minutes=1)
    barrier = threading.Barrier(2)

    def runner() -> None:
        barrier.wait()
        run_journeys(mail_database, ACTOR, now)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_journeys(mail_database, ACTOR, now)
    send_due_campaigns(mail_database, ACTOR, clock=lambda: now)
    with mail_database.read_session() as session:
        entries = session.scalar(select(func.count()).select_from(JourneyEntry))
        messages = session.scalar(select(func.count()).select_from(Message))
    assert entries == 20
    assert messages == 20
    assert len(smtp_server.handler.messages()) == 20


def test_a_review_request_goes_n_days_after_the_order_and_not_before(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 2)
    _journey(mail_database, "order", trigger_days=14)
    with mail_database.session() as session:
        record_order(session, OrderCreate(
            external_id="o-1", customer_id=ids[0], ordered_at=NOON, currency="USD",
            total=Decimal("30.00"),
        ), ACTOR)  # fmt: skip
    _settle(mail_database, NOON + dt.timedelta(days=13))
    assert smtp_server.handler.messages() == []
    with mail_database.read_session() as session:
        entry = session.scalar(select(JourneyEntry))
        assert entry is not None
        assert (entry.state, entry.occasion) == ("waiting", f"order:{entry.occasion[6:]}")
        assert entry.due_at == NOON + dt.timedelta(days=14)
    _settle(mail_database, NOON + dt.timedelta(days=14, hours=1))
    assert [item.rcpt_tos[0] for item in smtp_server.handler.messages()] == ["c0@example.net"]


def test_the_frequency_cap_holds_a_message_back_and_a_week_later_skips_it(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 2)
    mail_database.settings = mail_database.settings.model_copy(update={"frequency_cap": 1})
    journey_id = _journey(mail_database, "order", trigger_days=0)
    with mail_database.session() as session:
        for n, customer in enumerate([ids[0], ids[0], ids[1]]):
            record_order(session, OrderCreate(
                external_id=f"o-{n}", customer_id=customer, ordered_at=NOON + dt.timedelta(
                    minutes=n), currency="USD", total=Decimal("10.00"),
            ), ACTOR)  # fmt: skip
    _settle(mail_database, NOON + dt.timedelta(hours=1))
    # One message per customer this week: the second order's request waits.
    assert sorted(i.rcpt_tos[0] for i in smtp_server.handler.messages()) == [
        "c0@example.net", "c1@example.net",
    ]  # fmt: skip
    with mail_database.read_session() as session:
        waiting = session.scalars(select(JourneyEntry).where(JourneyEntry.state == "waiting")).all()
        assert [(e.customer_id, e.reason) for e in waiting] == [(ids[0], "frequency_cap")]
    _settle(mail_database, NOON + dt.timedelta(days=8, hours=2))
    with mail_database.read_session() as session:
        results = journey_results(session, journey_id, "USD")
    assert results["skipped_by_reason"] == {"frequency_cap": 1}
    assert len(smtp_server.handler.messages()) == 2


def test_quiet_hours_in_the_customers_zone_hold_a_message_until_morning(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 1)
    mail_database.settings = mail_database.settings.model_copy(update={"quiet_hours": "21-8"})
    with mail_database.session() as session:
        customer = session.get(Customer, ids[0])
        assert customer is not None
        customer.timezone = "Asia/Shanghai"  # UTC+8
    _journey(mail_database, "order", trigger_days=0)
    night = dt.datetime(2026, 11, 4, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
    with mail_database.session() as session:
        record_order(session, OrderCreate(external_id="o-1", customer_id=ids[0], ordered_at=night,
                     currency="USD", total=Decimal("10.00")), ACTOR)  # fmt: skip
    _settle(mail_database, night)
    assert smtp_server.handler.messages() == []
    with mail_database.read_session() as session:
        entry = session.scalar(select(JourneyEntry))
        assert entry is not None
        assert entry.reason == "quiet_hours"
    _settle(mail_database, dt.datetime(2026, 11, 5, 0, 5, tzinfo=dt.UTC))  # 08:05 there
    assert len(smtp_server.handler.messages()) == 1


def test_holdout_customers_are_entered_but_never_sent_and_the_effect_is_measured(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 200)
    journey_id = _journey(mail_database, "order", trigger_days=0, holdout_share=0.3)
    with mail_database.session() as session:
        for n, customer in enumerate(ids):
            order = OrderCreate(external_id=f"o-{n}", customer_id=customer, ordered_at=NOON,
                                currency="USD", total=Decimal("10.00"))  # fmt: skip
            record_order(session, order, ACTOR)
    _settle(mail_database, NOON + dt.timedelta(minutes=30))
    with mail_database.read_session() as session:
        states = dict(
            session.execute(
                select(JourneyEntry.state, func.count()).group_by(JourneyEntry.state)
            ).all()
        )
    assert 40 <= states["holdout"] <= 80
    assert states["sent"] == 200 - states["holdout"]
    assert len(smtp_server.handler.messages()) == states["sent"]
    with mail_database.read_session() as session:
        results = journey_results(session, journey_id, "USD", NOON + dt.timedelta(days=40))
    assert results["effect"]["receivers"] == states["sent"]
    assert results["effect"]["holdout"] == states["holdout"]
    with mail_database.read_session() as session:  # the journeys list's effects are the same
        assert journey_effects(session, "USD", NOON + dt.timedelta(days=40)) == {
            journey_id: results["effect"]
        }
        listed, stale = current_journey_effects(session, "USD")
    assert not stale
    with mail_database.session() as session:  # a new order: the list shows the last effects
        order = OrderCreate(external_id="o-late", customer_id=ids[0], ordered_at=NOON,
                            currency="USD", total=Decimal("99.00"))  # fmt: skip
        record_order(session, order, ACTOR)
    with mail_database.read_session() as session:
        assert current_journey_effects(session, "USD") == (listed, True)
        deadline = time.monotonic() + 30
        while current_journey_effects(session, "USD")[1]:
            assert time.monotonic() < deadline, "the new effects were never worked out"
            time.sleep(0.05)
    with mail_database.read_session() as session:  # the report shows the list's figures
        [reported] = journey_results_of(session, "USD")
        results = journey_results(session, journey_id, "USD")
        assert reported.effect == current_journey_effects(session, "USD")[0][journey_id]
    assert reported.effect == results["effect"]
    assert (reported.id, reported.entries) == (journey_id, 200)
    assert reported.messages_sent == results["messages"]["sent"] == states["sent"]


def test_a_paused_journey_does_nothing_and_a_task_journey_makes_tasks(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(mail_database, 2)
    with mail_database.session() as session:
        journey = create_journey(session, name="Call cancellers", trigger="subscription_cancelled",
                                 actor=ACTOR, action="task", task_title="Call them",
                                 holdout_share=0)  # fmt: skip
        start_journey(session, journey.id, ACTOR, NOON - dt.timedelta(days=1))
        journey_id = journey.id
        for customer in ids:
            session.add(Subscription(customer_id=customer, plan="Beans monthly", status="cancelled",
                        price_minor=1500, currency="USD", started_at=NOON - dt.timedelta(days=90),
                        cancelled_at=NOON))  # fmt: skip
    with mail_database.session() as session:
        pause_journey(session, journey_id, ACTOR)
    run_journeys(mail_database, ACTOR, NOON + dt.timedelta(hours=1))
    with mail_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(JourneyEntry)) == 0
    with mail_database.session() as session:
        start_journey(session, journey_id, ACTOR, NOON + dt.timedelta(hours=2))
    run_journeys(mail_database, ACTOR, NOON + dt.timedelta(hours=2))
    with mail_database.read_session() as session:
        tasks = session.scalars(select(Task)).all()
    assert sorted(t.customer_id for t in tasks) == sorted(ids)
    assert {t.title for t in tasks} == {"Call them"}
    assert smtp_server.handler.messages() == []


def test_a_birthday_is_greeted_on_the_day_and_the_timeline_shows_the_next_one(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    with mail_database.session() as session:
        [customer_id] = add_customers_bulk(session, [CustomerCreate(
            name="Bea Day", email="bea@example.net", birthday=dt.date(1990, 11, 6),
        )], ACTOR, "birthday")  # fmt: skip
        session.add(ConsentRecord(customer_id=customer_id, channel="email", granted=True,
                                  source="checkout", recorded_at=NOON))  # fmt: skip
    journey_id = _journey(mail_database, "birthday")
    _settle(mail_database, NOON)  # two days before: entered, not yet due
    assert smtp_server.handler.messages() == []
    _settle(mail_database, dt.datetime(2026, 11, 6, 9, 30, tzinfo=dt.UTC))
    assert [i.rcpt_tos[0] for i in smtp_server.handler.messages()] == ["bea@example.net"]
    with mail_database.read_session() as session:
        timeline = journey_timeline(session, journey_id, customer_id, mail_database.settings,
                                    mail_database.keyring, NOON)  # fmt: skip
    assert [(item["occasion"], item["state"]) for item in timeline] == [
        ("birthday:2026", "sent"), ("birthday:2027", "would_send"),
    ]  # fmt: skip
    assert timeline[0]["subject"] == "Hello Bea"


def _zone_at(local_hour: int, now: dt.datetime) -> str:
    """A fixed-offset zone whose clock reads ``local_hour`` at ``now``."""
    offset = (local_hour - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


def test_one_customer_at_night_does_not_stop_the_pass_after_one_batch(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    now = utcnow() + dt.timedelta(minutes=1)
    mail_database.settings = mail_database.settings.model_copy(
        update={"quiet_hours": "21-8", "timezone": _zone_at(12, now)}
    )
    _journey(mail_database, "welcome", started=utcnow())
    ids = add_audience(mail_database, 520)
    with mail_database.session() as session:
        night_owl = session.get(Customer, ids[3])
        assert night_owl is not None
        night_owl.timezone = _zone_at(2, now)

    report = run_journeys(mail_database, ACTOR, now)

    assert report.sent == 519
    assert report.waiting == {"quiet_hours": 1}
    with mail_database.read_session() as session:
        queued = session.scalar(select(func.count()).select_from(Message))
    assert queued == 519


def test_a_tier_change_journey_tells_a_member_who_moved_up_once(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    from tests.domain.loyalty.helpers import T0, member, order, programme

    from soloist.domain.customers import record_consent
    from soloist.domain.loyalty.programme import earn_for_order

    journey_id = _journey(mail_database, "tier_change", started=utcnow())
    with mail_database.session() as session:
        programme(session)
        ada = member(session, email="ada@example.com")
        bo = member(session, "Bo", email="bo@example.com")  # no consent
        record_consent(session, ada, "email", True, "test")
        earn_for_order(session, order(session, ada, "600", T0).id, at=T0)
        earn_for_order(session, order(session, bo, "300", T0).id, at=T0)
    for _ in range(2):
        _settle(mail_database, utcnow() + dt.timedelta(minutes=1))

    assert [i.rcpt_tos[0] for i in smtp_server.handler.messages()] == ["ada@example.com"]
    with mail_database.read_session() as session:
        results = journey_results(session, journey_id, "USD")
    # Enrolment into the lowest tier is not an occasion; each move up is.
    assert results["by_state"] == {"sent": 1, "skipped": 1}
    assert results["skipped_by_reason"] == {"no_consent": 1}


def test_a_birthday_greeting_is_due_at_nine_on_the_customers_own_clock(
    mail_database: Database,
) -> None:
    from soloist.domain.journeys import find_occasions, get_journey

    with mail_database.session() as session:
        shanghai, london = add_customers_bulk(session, [
            CustomerCreate(name="Wei", email="wei@example.net", birthday=dt.date(1990, 11, 6)),
            CustomerCreate(name="Ann", email="ann@example.net", birthday=dt.date(1985, 7, 1)),
        ], ACTOR, "zones")  # fmt: skip
        customer = session.get(Customer, shanghai)
        assert customer is not None
        customer.timezone = "Asia/Shanghai"
    journey_id = _journey(mail_database, "birthday")
    with mail_database.read_session() as session:
        journey = get_journey(session, journey_id)
        wei = find_occasions(session, journey, NOON, NOON, "USD", shanghai, "Europe/London")
        ann = find_occasions(session, journey, NOON, NOON, "USD", london, "Europe/London")
    assert wei[0].due_at == dt.datetime(2026, 11, 6, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    assert ann[0].due_at == dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)  # 09:00 BST


def test_looking_for_occasions_leaves_the_write_lock_to_others(
    mail_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding a birthday journey's occasions decrypts every customer's birthday, seconds at a
    hundred thousand customers: on SQLite an API write meanwhile must not wait for it."""
    if mail_database.backend != "sqlite":
        pytest.skip("the server engines lock rows, not the whole database")
    with mail_database.session() as session:
        add_customers_bulk(session, [CustomerCreate(
            name="Bea Day", email="bea@example.net", birthday=dt.date(1990, 11, 6),
        )], ACTOR, "birthday")  # fmt: skip
    journey_id = _journey(mail_database, "birthday")
    path = mail_database.engine.url.database
    others_wrote: list[bool] = []

    def find_while_another_writes(*args: object, **kwargs: object) -> list[Occasion]:
        other = sqlite3.connect(str(path), timeout=0.5, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            others_wrote.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            others_wrote.append(False)
        finally:
            other.close()
        return find_occasions(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(journey_runner, "find_occasions", find_while_another_writes)
    report = run_journeys(mail_database, ACTOR, NOON)
    assert others_wrote == [True]
    assert report.entered == 1  # and the occasion found was entered
    with mail_database.read_session() as session:
        entries = session.scalars(select(JourneyEntry).where(JourneyEntry.journey_id == journey_id))
        assert [entry.occasion for entry in entries] == ["birthday:2026"]
