"""``soloist report``: figures checked against a workspace whose history is known by hand, and
the HTML that carries them (self-contained, in the owner's language)."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.caches import newest_id_where
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.orders import OrderCreate, OrderLineCreate, record_order
from soloist.domain.reports import build_report, current_report, report_periods
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Message, SurveyResponse, Ticket
from soloist.web.reports import report_file

AS_OF = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def at(month: int, day: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def _order(session: Session, customer: int, when: dt.datetime, amount: str, key: str) -> None:
    record_order(
        session,
        OrderCreate(external_id=key, customer_id=customer, ordered_at=when, currency="USD",
                    lines=[OrderLineCreate(description="tea", unit_price=Decimal(amount))]),
        "t",
    )  # fmt: skip


def _history(database: Database) -> None:
    """Five buyers whose place in November's movements is known:
    A new in October, again in November (repeat); B bought in August and November (returning);
    C first bought in November (new); D only in October (lost); E in September and October
    (lost)."""
    with database.session() as session:
        ids = {
            name: create_customer(session, CustomerCreate(name=name), "t").id for name in "ABCDE"
        }
        for n, (name, month, amount) in enumerate(
            [("A", 10, "20.00"), ("A", 11, "30.00"), ("B", 8, "15.00"), ("B", 11, "25.00"),
             ("C", 11, "40.00"), ("D", 10, "50.00"), ("E", 9, "10.00"), ("E", 10, "12.00")]
        ):  # fmt: skip
            _order(session, ids[name], at(month), amount, f"o-{n}")
        for score, comment in ((10, None), (9, "lovely tea"), (3, "delivery was late"),
                               (2, "Late delivery again, the box was crushed")):  # fmt: skip
            session.add(SurveyResponse(customer_id=ids["A"], kind="nps", score=score,
                                       comment=comment, responded_at=at(11, 20)))  # fmt: skip
        session.add(SurveyResponse(customer_id=ids["B"], kind="nps", score=10,
                                   responded_at=at(10, 20)))  # fmt: skip
        session.add(Ticket(customer_id=ids["C"], subject="Where is my order?", status="resolved",
                           opened_at=at(11, 3), first_response_at=at(11, 3) + dt.timedelta(hours=2),
                           first_response_due_at=at(11, 3) + dt.timedelta(hours=4),
                           resolved_at=at(11, 4)))  # fmt: skip


def test_november_against_october_by_hand(database: Database) -> None:
    _history(database)
    with database.read_session() as session:
        report = build_report(session, "USD", {}, "UTC", period="month", as_of=AS_OF)
    assert (report.period.label, report.previous.label) == ("2026-11", "2026-10")
    revenue = report.revenue
    assert (revenue.revenue_minor.current, revenue.revenue_minor.previous) == (9500, 8200)
    assert (revenue.orders.current, revenue.orders.previous) == (3, 3)
    assert revenue.revenue_minor.change == pytest.approx(1300 / 8200)
    moves = {m.kind: m for m in revenue.movements}
    assert (moves["new"].customers.current, moves["new"].revenue_minor.current) == (1, 4000)
    assert (moves["repeat"].customers.current, moves["repeat"].revenue_minor.current) == (1, 3000)
    assert (moves["returning"].customers.current, moves["returning"].revenue_minor.current) == (
        1,
        2500,
    )
    assert (moves["lost"].customers.current, moves["lost"].revenue_minor.current) == (2, 6200)
    # October's own split: A and D new, E repeat (bought in September too).
    assert (moves["new"].customers.previous, moves["repeat"].customers.previous) == (2, 1)
    assert dict(revenue.trend)["2026-09"] == 1000
    assert report.customers.new.current == 1  # C
    assert report.customers.new.previous == 2  # A and D

    nps = report.voice.trend["nps"]
    assert nps[-1].responses == 4
    assert nps[-1].value == pytest.approx((2 - 2) / 4 * 100)
    assert nps[-2].value == pytest.approx(100.0)
    assert report.voice.negative_comments == 2
    assert dict(report.voice.themes) == {"delivery": 2, "late": 2}

    tickets = report.actions.tickets
    assert tickets is not None
    assert (tickets.opened.current, tickets.resolved.current) == (1, 1)
    assert tickets.first_response_hours.current == pytest.approx(2.0)
    assert tickets.first_response_breached.current == 0.0
    assert report.actions.pipeline is None  # no deals: the section says so
    assert report.actions.loyalty is None


def test_the_page_keeps_its_report_and_shows_it_while_the_next_is_built(
    sqlite_database: Database,
) -> None:
    """A report at a hundred thousand customers takes many seconds: the Reports page keeps it
    until the data change, then shows it (stale) while a background thread builds the next."""
    _history(sqlite_database)
    with sqlite_database.read_session() as session:
        first, stale = current_report(session, "USD", {}, "UTC")
        assert (first.period.label, first.revenue.revenue_minor.current, stale) == (
            "2026-10",
            8200,
            False,
        )
        assert current_report(session, "USD", {}, "UTC") == (first, False)
    with sqlite_database.session() as session:  # a late October order arrives
        late = create_customer(session, CustomerCreate(name="F"), "t").id
        _order(session, late, at(10, 20), "5.00", "late")
    with sqlite_database.read_session() as session:
        assert current_report(session, "USD", {}, "UTC") == (first, True)
        deadline = time.monotonic() + 30
        while (now := current_report(session, "USD", {}, "UTC"))[1]:
            assert time.monotonic() < deadline, "the next report was never built"
            time.sleep(0.05)
    assert now[0].revenue.revenue_minor.current == 8700


def test_the_page_keeps_its_report_while_the_next_period_fills(
    sqlite_database: Database,
) -> None:
    """Orders, messages, tickets and answers of the period under way change no figure of the
    last complete one: the page keeps its report without rebuilding it. One dated inside the
    reported period (an answer typed in late) makes it rebuild."""
    _history(sqlite_database)
    with sqlite_database.read_session() as session:
        first, stale = current_report(session, "USD", {}, "UTC")
    assert (first.period.label, stale) == ("2026-10", False)
    with sqlite_database.session() as session:
        buyer = session.scalars(select(Ticket.customer_id)).one()
        _order(session, buyer, at(11, 20), "7.00", "after")
        session.add(Message(customer_id=buyer, channel="email", status="sent",
                            idempotency_key="m-after", sent_at=at(11, 20)))  # fmt: skip
        session.add(Ticket(customer_id=buyer, subject="Again?", status="open",
                           opened_at=at(11, 21)))  # fmt: skip
        session.add(SurveyResponse(customer_id=buyer, kind="nps", score=4,
                                   responded_at=at(11, 21)))  # fmt: skip
    with sqlite_database.read_session() as session:
        assert current_report(session, "USD", {}, "UTC") == (first, False)
    with sqlite_database.session() as session:
        session.add(SurveyResponse(customer_id=buyer, kind="nps", score=4,
                                   responded_at=at(10, 25)))  # fmt: skip
    with sqlite_database.read_session() as session:
        assert current_report(session, "USD", {}, "UTC") == (first, True)


def test_newest_id_where_reads_on_from_where_it_stopped(sqlite_database: Database) -> None:
    _history(sqlite_database)
    before_november = SurveyResponse.responded_at < at(11, 1)

    def newest(session: Session) -> int | None:
        return newest_id_where(session, SurveyResponse.id, before_november, "answers test")

    with sqlite_database.read_session() as session:
        october = session.scalars(
            select(SurveyResponse.id).where(SurveyResponse.responded_at < at(11, 1))
        ).one()
        assert newest(session) == october
    with sqlite_database.session() as session:
        customer = session.scalars(select(SurveyResponse.customer_id)).first()
        for day in (2, 3):
            session.add(SurveyResponse(customer_id=customer, kind="nps", score=9,
                                       responded_at=at(11, day)))  # fmt: skip
    with sqlite_database.read_session() as session:
        assert newest(session) == october
    with sqlite_database.session() as session:
        late = SurveyResponse(customer_id=customer, kind="nps", score=9, responded_at=at(9, 2))
        session.add(late)
        session.flush()
        late_id = late.id
    with sqlite_database.read_session() as session:
        assert newest(session) == late_id > october


def test_the_file_is_self_contained_and_in_the_owners_language(sqlite_database: Database) -> None:
    _history(sqlite_database)
    with sqlite_database.read_session() as session:
        report = build_report(session, "USD", {}, "UTC", as_of=AS_OF)
    english = report_file(report, sqlite_database.settings, "en")
    chinese = report_file(report, sqlite_database.settings, "zh_Hans")
    for html in (english, chinese):
        assert "<svg" in html
        assert "<script" not in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
        assert re.findall(r"https?://[^\s\"'<>]+", html) == [
            "http://www.w3.org/2000/svg"
        ] * html.count("<svg")  # only the SVG namespace, which is a name, not a download
    assert "Monthly report: 2026-11" in english
    assert "$95.00" in english
    assert "$82.00" in english
    assert 'id="movement-lost"' in english
    assert "月度报告" in chinese
    assert "Monthly report" not in chinese
    assert "No deals yet." in english


def test_weeks_and_bad_periods() -> None:
    weeks = report_periods("week", AS_OF, "Asia/Shanghai", 2)
    assert [w.label for w in weeks] == ["2026-W47", "2026-W48"]
    assert weeks[-1].start == dt.datetime(2026, 11, 22, 16, tzinfo=dt.UTC)  # Monday 00:00 +08
    with pytest.raises(ValidationError, match="month or week"):
        report_periods("fortnight", AS_OF, "UTC", 2)


def test_the_worker_mails_the_report_on_its_schedule(sqlite_database: Database) -> None:
    from tests.domain.test_jobs import FakeClock
    from tests.mailserver import SmtpServer

    from soloist.app import worker_handlers
    from soloist.config import Settings
    from soloist.domain.jobs import Worker
    from soloist.domain.users import add_user
    from soloist.storage.models import Job

    _history(sqlite_database)
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", "a long enough password", "t")
        add_user(session, "staff@example.com", "staff", "a long enough password", "t")
    with SmtpServer() as server:
        values = {k.removeprefix("SOLOIST_").lower(): v for k, v in server.environ.items()}
        sqlite_database.settings = Settings(
            **{**sqlite_database.settings.model_dump(), **values,
               "report_schedule": "0 7 1 * *", "locale": "zh_Hans"}
        )  # fmt: skip
        clock = FakeClock(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC))
        worker = Worker(sqlite_database, clock=clock, handlers=worker_handlers())
        worker.register_schedules()
        clock.advance(dt.timedelta(days=1))  # past 07:00 on the 1st of December
        worker.enqueue_due()
        worker.run_pending()
        received = server.handler.messages()
    with sqlite_database.read_session() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "report")).all()
    assert [(job.status, job.result) for job in jobs] == [
        ("done", {"period": "2026-11", "recipients": 1})
    ]
    assert [r.rcpt_tos for r in received] == [["owner@example.com"]]  # owners only
    mail = received[0].message
    assert mail["Subject"] == "月度报告: 2026-11"
    parts = {part.get_content_type(): part for part in mail.walk()}
    assert "¥" not in parts["text/plain"].get_content()  # the workspace's dollars
    assert "US$95.00" in parts["text/plain"].get_content()
    attached = [p for p in mail.iter_attachments() if p.get_filename()]
    assert [p.get_filename() for p in attached] == ["soloist-report-2026-11.html"]
    assert "<svg" in attached[0].get_content()


def test_without_smtp_the_report_job_fails_and_says_why(sqlite_database: Database) -> None:
    from soloist.app import worker_handlers
    from soloist.domain.jobs import Worker, enqueue
    from soloist.domain.users import add_user

    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", "a long enough password", "t")
    enqueue(sqlite_database, "report", handlers=worker_handlers())
    outcomes = Worker(sqlite_database, handlers=worker_handlers()).run_pending()
    assert [o.status for o in outcomes] == ["failed"]
    assert "SOLOIST_SMTP_HOST" in (outcomes[0].error or "")
