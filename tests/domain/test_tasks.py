"""Tasks: the today / overdue / upcoming lists in the workspace time zone, keys that create a
task once even from two transactions at once, the automation rules, and reminders mailed to a
real SMTP server on loopback, once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.mailserver import SmtpServer

from soloist.config import Settings
from soloist.domain.audit import audit_trail
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.sales import (
    ChurnRiskRule,
    add_task_rule,
    complete_task,
    count_tasks,
    create_deal,
    create_task,
    get_task,
    list_tasks,
    move_deal,
    remove_task_rule,
    reopen_task,
    run_task_rules,
    send_due_reminders,
    task_rules,
    task_state,
    update_task,
    update_task_rule,
)
from soloist.domain.sales import reminders as reminders_module
from soloist.domain.users import add_user
from soloist.errors import NotFoundError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, ModelRun, Task

ACTOR = "test"
NOW = dt.datetime(2026, 12, 8, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
PASSWORD = "a long enough password"


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def _customer(database: Database, name: str = "Ada") -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name=name), ACTOR).id


def _task(database: Database, title: str, **options: object) -> int:
    with database.session() as session:
        return create_task(session, title, ACTOR, **options).id  # type: ignore[arg-type]


# --- lists -----------------------------------------------------------------------------------


def test_today_overdue_and_upcoming_follow_the_workspace_time_zone(database: Database) -> None:
    zone = "America/New_York"
    _task(database, "overdue", due_at=_utc(2026, 12, 7, 20))
    _task(database, "this afternoon", due_at=_utc(2026, 12, 8, 22))  # 17:00 local
    # 23:30 on the 8th in New York, though the 9th in UTC: still today.
    _task(database, "late tonight", due_at=_utc(2026, 12, 9, 4, 30), priority="high")
    _task(database, "tomorrow", due_at=_utc(2026, 12, 9, 6))  # 01:00 on the 9th local
    _task(database, "someday")
    done = _task(database, "done", due_at=_utc(2026, 12, 1))
    with database.session() as session:
        complete_task(session, done, ACTOR, now=NOW)

    def titles(**filters: object) -> list[str]:
        with database.read_session() as session:
            rows, _ = list_tasks(session, timezone=zone, now=NOW, **filters)  # type: ignore[arg-type]
            return [t.title for t in rows]

    assert titles(due="today") == ["overdue", "this afternoon", "late tonight"]
    assert titles(due="overdue") == ["overdue"]
    assert titles(due="upcoming") == ["tomorrow"]
    assert titles(done=True) == ["done"]
    assert titles(done=False)[-1] == "someday"  # no due time: last
    with database.read_session() as session:
        states = {t.title: task_state(t, timezone=zone, now=NOW) for t in list_tasks(session)[0]}
        assert states == {
            "overdue": "overdue",
            "this afternoon": "today",
            "late tonight": "today",
            "tomorrow": "upcoming",
            "someday": "someday",
            "done": "done",
        }
        assert count_tasks(session, timezone=zone, now=NOW) == {
            "overdue": 1,
            "today": 2,
            "upcoming": 1,
            "someday": 1,
        }
        with pytest.raises(ValidationError) as caught:
            list_tasks(session, due="yesterday")
        assert caught.value.details["field"] == "due"


def test_tasks_link_to_a_deal_and_take_its_customer(database: Database) -> None:
    customer = _customer(database)
    with database.session() as session:
        deal = create_deal(
            session,
            ACTOR,
            name="Grinders",
            customer_id=customer,
            value=1,
            currency="USD",
            now=NOW - dt.timedelta(days=40),
        )
        task = create_task(session, "Send the quote", ACTOR, deal_id=deal.id)
        assert task.customer_id == customer
        with pytest.raises(NotFoundError) as missing:
            create_task(session, "x", ACTOR, ticket_id=4242)
        assert missing.value.details["field"] == "ticket_id"
        with pytest.raises(ValidationError) as caught:
            create_task(session, "x", ACTOR, due_at=dt.datetime(2026, 12, 8, 10))  # naive
        assert caught.value.details["field"] == "due_at"
        with pytest.raises(ValidationError) as caught:
            create_task(session, "x", ACTOR, priority="urgent")
        assert caught.value.details["field"] == "priority"
        # Completing a task on a deal is activity on the deal.
        complete_task(session, task.id, ACTOR, now=NOW)
        assert deal.last_activity_at == NOW
        reopened = reopen_task(session, task.id, ACTOR, now=NOW)
        assert reopened.done_at is None
    with database.read_session() as session:
        assert [t.title for t in list_tasks(session, deal_id=deal.id)[0]] == ["Send the quote"]
        assert list_tasks(session, customer_id=customer)[1] == 1


def test_an_automation_key_creates_its_task_once(database: Database) -> None:
    with database.session() as session:
        first = create_task(session, "Breach", ACTOR, automation_key="sla-breach:ticket:1")
        again = create_task(session, "Breach again", ACTOR, automation_key="sla-breach:ticket:1")
        assert again.id == first.id
        assert again.title == "Breach"
    with database.read_session() as session:
        assert session.scalar(select(func.count(Task.id))) == 1


def test_two_transactions_creating_one_key_at_once_make_one_task(database: Database) -> None:
    """The first inserts the key and has not committed; the second finds nothing, inserts,
    waits for the first, is refused by the unique key and answers the first one's task."""
    if database.backend == "sqlite":
        pytest.skip("SQLite writers wait for one another at BEGIN: no race to lose")
    answers: list[int] = []
    with database.session() as first:
        mine = create_task(first, "Rule task", ACTOR, automation_key="race:1")
        first.flush()

        def second() -> None:
            with database.session() as session:
                answers.append(create_task(session, "Other", ACTOR, automation_key="race:1").id)

        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.5)  # the second is waiting on the key now
        assert worker.is_alive()
        mine_id = mine.id
    worker.join(timeout=30)
    assert answers == [mine_id]
    with database.read_session() as session:
        assert session.scalar(select(func.count(Task.id))) == 1


# --- automation rules ------------------------------------------------------------------------


def test_a_deal_stage_rule_makes_one_task_per_deal_entering_after_it(database: Database) -> None:
    customer = _customer(database)
    with database.session() as session:
        owner = add_user(session, "owner@example.com", "owner", PASSWORD, ACTOR)
        early = create_deal(
            session,
            ACTOR,
            name="early",
            customer_id=customer,
            value=1,
            currency="USD",
            now=NOW - dt.timedelta(days=3),
        )
        move_deal(session, early.id, "proposal", ACTOR, at=NOW - dt.timedelta(days=2))
        rule = add_task_rule(
            session,
            {
                "kind": "deal_stage",
                "stage": "proposal",
                "title": "Follow up the proposal",
                "due_days": 2,
            },
            ACTOR,
            now=NOW - dt.timedelta(days=1),
        )
        late = create_deal(
            session,
            ACTOR,
            name="late",
            customer_id=customer,
            value=1,
            currency="USD",
            owner_id=owner.id,
            now=NOW - dt.timedelta(hours=5),
        )
        move_deal(session, late.id, "proposal", ACTOR, at=NOW - dt.timedelta(hours=4))
        move_deal(session, late.id, "lead", ACTOR, at=NOW - dt.timedelta(hours=3))
        move_deal(session, late.id, "proposal", ACTOR, at=NOW - dt.timedelta(hours=2))
    report = run_task_rules(database, ACTOR, NOW)
    assert report.created == {rule.id: 1}
    assert run_task_rules(database, ACTOR, NOW).total == 0
    with database.read_session() as session:
        (task,) = session.scalars(select(Task)).all()
        assert (task.title, task.deal_id, task.customer_id) == (
            "Follow up the proposal",
            late.id,
            customer,
        )
        assert task.assignee_id == owner.id
        assert task.due_at == NOW - dt.timedelta(hours=4) + dt.timedelta(days=2)
        assert task.automation_key == f"deal-stage:{rule.id}:{late.id}"


def test_rules_are_checked_changed_and_removed(database: Database) -> None:
    with database.session() as session:
        with pytest.raises(ValidationError) as caught:
            add_task_rule(session, {"kind": "churn_risk", "threshold": 1.5, "title": "x"}, ACTOR)
        assert caught.value.details["field"] == "threshold"
        with pytest.raises(NotFoundError):
            add_task_rule(session, {"kind": "deal_stage", "stage": "nowhere", "title": "x"}, ACTOR)
        with pytest.raises(ValidationError) as caught:
            add_task_rule(session, {"kind": "birthday", "title": "x"}, ACTOR)
        assert caught.value.details["field"] == "kind"
        sla = add_task_rule(
            session, {"kind": "sla_breach", "title": "Answer it", "due_days": 0}, ACTOR
        )
        churn = add_task_rule(
            session,
            {"kind": "churn_risk", "threshold": 0.6, "min_clv": "250.00", "title": "Call"},
            ACTOR,
        )
    with database.session() as session:
        assert [r.id for r in task_rules(session)] == [sla.id, churn.id]
        (only,) = task_rules(session, kind="sla_breach")
        assert (only.title, only.due_days) == ("Answer it", 0)
        changed = update_task_rule(session, churn.id, {"threshold": 0.7}, ACTOR)
        assert isinstance(changed, ChurnRiskRule)
        assert changed.threshold == 0.7
        assert changed.min_clv == Decimal("250.00")
        with pytest.raises(ValidationError):
            update_task_rule(session, churn.id, {"kind": "sla_breach"}, ACTOR)
        remove_task_rule(session, sla.id, ACTOR)
        assert [r.id for r in task_rules(session)] == [churn.id]


def _scores(
    database: Database, finished: dt.datetime, scores: dict[int, tuple[float | None, int | None]]
) -> int:
    """A finished model run with (churn risk, CLV in cents) per customer."""
    with database.session() as session:
        run = ModelRun(kind="clv", status="succeeded", finished_at=finished, params={}, metrics={})
        session.add(run)
        session.flush()
        for customer_id, (risk, clv) in scores.items():
            session.add(
                CustomerScore(
                    model_run_id=run.id,
                    customer_id=customer_id,
                    churn_risk=risk,
                    clv_12m_minor=clv,
                    reasons={},
                )
            )
        return run.id


def test_a_churn_rule_tasks_valuable_customers_whose_risk_crossed(database: Database) -> None:
    ada, bob, cy, di, ed = (_customer(database, n) for n in ("Ada", "Bob", "Cy", "Di", "Ed"))
    _scores(
        database,
        NOW - dt.timedelta(days=8),
        {ada: (0.5, 90_000), bob: (0.85, 90_000), cy: (0.2, 10_000)},
    )
    with database.session() as session:
        rule = add_task_rule(
            session,
            {
                "kind": "churn_risk",
                "threshold": 0.6,
                "min_clv": "500.00",
                "title": "Win back",
                "due_days": 3,
            },
            ACTOR,
            now=NOW - dt.timedelta(days=7),
        )
    # Before any analysis newer than the rule, nothing.
    assert run_task_rules(database, ACTOR, NOW).total == 0
    run = _scores(
        database,
        NOW - dt.timedelta(days=1),
        {
            ada: (0.8, 60_000),  # crossed, worth 600.00: a task
            bob: (0.9, 90_000),  # above before too: no task
            cy: (0.75, 10_000),  # crossed, worth 100.00 only: no task
            di: (0.7, 80_000),  # not scored before: crossed, a task
            ed: (0.1, 99_000),  # not at risk
        },
    )
    assert run_task_rules(database, ACTOR, NOW).created == {rule.id: 2}
    assert run_task_rules(database, ACTOR, NOW).total == 0
    with database.read_session() as session:
        tasks = session.scalars(select(Task).order_by(Task.customer_id)).all()
        assert [(t.customer_id, t.automation_key) for t in tasks] == [
            (ada, f"churn-risk:{ada}:{run}"),
            (di, f"churn-risk:{di}:{run}"),
        ]
        assert {t.due_at for t in tasks} == {NOW + dt.timedelta(days=3)}


def test_two_rule_runs_at_once_make_each_task_once(database: Database) -> None:
    customer = _customer(database)
    with database.session() as session:
        add_task_rule(
            session,
            {"kind": "deal_stage", "stage": "qualified", "title": "Qualify"},
            ACTOR,
            now=NOW - dt.timedelta(days=1),
        )
        for number in range(40):
            deal = create_deal(
                session,
                ACTOR,
                name=f"d{number}",
                customer_id=customer,
                value=1,
                currency="USD",
                now=NOW - dt.timedelta(hours=2),
            )
            move_deal(session, deal.id, "qualified", ACTOR, at=NOW - dt.timedelta(hours=1))
    start = threading.Barrier(2)
    totals: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            totals.append(run_task_rules(database, ACTOR, NOW).total)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(totals) == 40
    with database.read_session() as session:
        assert session.scalar(select(func.count(Task.id))) == 40


# --- reminders -------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_database(database: Database, smtp_server: SmtpServer) -> Database:
    """The ``database`` fixture sending through the loopback SMTP server, with an owner."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    database.settings = Settings(
        **{**database.settings.model_dump(), **values, "timezone": "Europe/London"}
    )
    with database.session() as session:
        add_user(session, "owner@coffee.example", "owner", PASSWORD, ACTOR, name="Ada")
    return database


def test_a_due_reminder_is_mailed_to_the_owner_once(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    customer = _customer(mail_database, "Bob Baker")
    due = _task(
        mail_database,
        "Call Bob",
        customer_id=customer,
        due_at=_utc(2026, 12, 8, 16),
        remind_at=_utc(2026, 12, 8, 14),
    )
    _task(mail_database, "Later", remind_at=_utc(2026, 12, 8, 16))
    done = _task(mail_database, "Done already", remind_at=_utc(2026, 12, 8, 9))
    with mail_database.session() as session:
        complete_task(session, done, ACTOR, now=NOW)
    report = send_due_reminders(mail_database, ACTOR, NOW)
    assert (report.sent, report.failed, report.waiting) == (1, 0, 0)
    (mail,) = smtp_server.handler.messages()
    assert mail.rcpt_tos == ["owner@coffee.example"]
    assert mail.message["Subject"] == "Reminder: Call Bob"
    body = mail.message.get_content()
    assert "Due: 2026-12-08 16:00 (Europe/London)" in body
    assert "Customer: Bob Baker" in body
    with mail_database.read_session() as session:
        assert get_task(session, due).reminded_at == NOW
    # The next pass sends nothing more.
    assert send_due_reminders(mail_database, ACTOR, NOW + dt.timedelta(minutes=1)).sent == 0
    assert len(smtp_server.handler.messages()) == 1
    # A new reminder time is reminded again.
    with mail_database.session() as session:
        update_task(session, due, {"remind_at": _utc(2026, 12, 8, 15, 30)}, ACTOR)
    assert send_due_reminders(mail_database, ACTOR, _utc(2026, 12, 8, 15, 31)).sent == 1
    assert len(smtp_server.handler.messages()) == 2


def test_a_reminder_goes_to_the_assignee_in_their_language(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    with mail_database.session() as session:
        staff = add_user(session, "li@coffee.example", "staff", PASSWORD, ACTOR)
        staff.locale = "zh_Hans"
        staff_id = staff.id
    _task(mail_database, "回访客户", assignee_id=staff_id, remind_at=NOW)
    assert send_due_reminders(mail_database, ACTOR, NOW).sent == 1
    (mail,) = smtp_server.handler.messages()
    assert mail.rcpt_tos == ["li@coffee.example"]
    assert mail.message["Subject"] == "提醒：回访客户"


def test_a_crash_after_sending_leaves_the_reminder_to_be_sent_again(
    mail_database: Database, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = _task(mail_database, "Call Bob", remind_at=NOW)

    def crash(*args: object) -> bool:
        raise RuntimeError("the worker died here")

    with monkeypatch.context() as patched:
        patched.setattr(reminders_module, "_mark", crash)
        with pytest.raises(RuntimeError):
            send_due_reminders(mail_database, ACTOR, NOW)
    with mail_database.read_session() as session:
        assert get_task(session, task_id).reminded_at is None
    assert send_due_reminders(mail_database, ACTOR, NOW).sent == 1
    first, second = smtp_server.handler.messages()
    assert first.message["Message-ID"] == second.message["Message-ID"]


def test_a_refused_address_is_marked_and_audited_a_busy_one_waits(
    mail_database: Database, smtp_server: SmtpServer
) -> None:
    with mail_database.session() as session:
        gone = add_user(session, "gone@coffee.example", "staff", PASSWORD, ACTOR).id
        busy = add_user(session, "busy@coffee.example", "staff", PASSWORD, ACTOR).id
    smtp_server.handler.refuse["gone@coffee.example"] = "550 5.1.1 no such user"
    smtp_server.handler.refuse["busy@coffee.example"] = "450 4.2.1 mailbox busy"
    refused = _task(mail_database, "Refused", assignee_id=gone, remind_at=NOW)
    waiting = _task(mail_database, "Waiting", assignee_id=busy, remind_at=NOW)
    report = send_due_reminders(mail_database, ACTOR, NOW)
    assert (report.sent, report.failed, report.waiting) == (0, 1, 1)
    with mail_database.read_session() as session:
        assert get_task(session, refused).reminded_at == NOW
        assert get_task(session, waiting).reminded_at is None
        trail = audit_trail(session, "task", refused)
        assert [entry.action for entry in trail if entry.action.startswith("task.rem")] == [
            "task.reminder_failed"
        ]
    del smtp_server.handler.refuse["busy@coffee.example"]
    later = send_due_reminders(mail_database, ACTOR, NOW + dt.timedelta(minutes=1))
    assert (later.sent, later.failed) == (1, 0)


def test_without_e_mail_nothing_is_sent_or_marked_and_the_log_says_so_once(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    task_id = _task(database, "Call Bob", remind_at=NOW)
    with caplog.at_level(logging.WARNING, logger="soloist.tasks"):
        first = send_due_reminders(database, ACTOR, NOW)
        send_due_reminders(database, ACTOR, NOW + dt.timedelta(minutes=1))
    assert first.not_configured
    assert first.sent == 0
    said = [r for r in caplog.records if "reminders are not sent" in r.getMessage()]
    assert len(said) == 1
    with database.read_session() as session:
        assert get_task(session, task_id).reminded_at is None
