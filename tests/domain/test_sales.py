"""The pipeline: stages, deals moving and closing, stale deals, the weighted forecast (hand
computed, several currencies, a month with no deals, closed deals) and the statistics (from a
constructed stage history), on every engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.sales import (
    close_deal,
    create_deal,
    create_stage,
    create_task,
    delete_deal,
    delete_stage,
    forecast_deals,
    get_deal,
    get_task,
    is_stale,
    list_deals,
    list_stages,
    move_deal,
    move_stage,
    pipeline_stats,
    record_deal_activity,
    rename_stage,
    reorder_stages,
    set_stage_probability,
    stale_cutoff,
    update_deal,
    update_sales_settings,
)
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import DealStageChange

ACTOR = "test"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _customer(database: Database, name: str = "Ada") -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name=name), ACTOR).id


def _deal(
    database: Database,
    customer_id: int,
    value: str,
    currency: str = "USD",
    *,
    expected: dt.date | None = None,
    at: dt.datetime = T0,
    path: tuple[tuple[str, dt.datetime], ...] = (),
    name: str = "Deal",
) -> int:
    """A deal created at ``at`` and moved along ``path`` (stage, when)."""
    with database.session() as session:
        deal = create_deal(
            session,
            ACTOR,
            name=name,
            customer_id=customer_id,
            value=Decimal(value),
            currency=currency,
            expected_close_on=expected,
            now=at,
        )
        for stage, when in path:
            move_deal(session, deal.id, stage, ACTOR, at=when)
        return deal.id


def _days(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def test_a_new_deal_starts_in_the_first_stage_at_its_probability(database: Database) -> None:
    customer = _customer(database)
    with database.session() as session:
        deal = create_deal(
            session,
            ACTOR,
            name="Espresso machines",
            customer_id=customer,
            value=Decimal("1200.50"),
            currency="eur",
            expected_close_on=dt.date(2027, 1, 31),
            now=T0,
        )
        deal_id = deal.id
    with database.read_session() as session:
        deal = get_deal(session, deal_id)
        assert (deal.stage, deal.probability_percent) == ("lead", 10)
        assert (deal.value_minor, deal.currency, deal.title) == (120050, "EUR", "Espresso machines")
        assert deal.stage_entered_at == deal.last_activity_at == T0
        history = session.scalars(select(DealStageChange)).all()
        assert [(h.from_stage, h.to_stage, h.changed_at) for h in history] == [(None, "lead", T0)]


def test_deal_input_is_checked_and_errors_name_the_field(database: Database) -> None:
    customer = _customer(database)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"value": Decimal("1.234")}, "value"),  # finer than cents
        ({"value": Decimal("-1")}, "value"),
        ({"currency": "XYZ"}, "currency"),
        ({"name": "  "}, "name"),
        ({"probability": 101}, "probability"),
    ]
    for change, field in bad:
        values: dict[str, Any] = {"name": "D", "value": Decimal(1), "currency": "USD"} | change
        with database.session() as session, pytest.raises(ValidationError) as caught:
            create_deal(session, ACTOR, customer_id=customer, **values)
        assert caught.value.details["field"] == field
    with database.session() as session, pytest.raises(NotFoundError) as missing:
        create_deal(session, ACTOR, name="D", customer_id=999, value=1, currency="USD")
    assert missing.value.details["field"] == "customer_id"


def test_moving_records_history_and_takes_the_stage_probability(database: Database) -> None:
    customer = _customer(database)
    deal_id = _deal(database, customer, "500")
    with database.session() as session:
        moved = move_deal(session, deal_id, "proposal", ACTOR, at=_days(3))
        assert (moved.probability_percent, moved.stage_entered_at) == (50, _days(3))
        # The owner's own probability holds until the deal moves again.
        update_deal(session, deal_id, {"probability": 60}, ACTOR, now=_days(4))
        assert get_deal(session, deal_id).probability_percent == 60
        move_deal(session, deal_id, "negotiation", ACTOR, at=_days(5))
        assert get_deal(session, deal_id).probability_percent == 75
        with pytest.raises(ValidationError) as caught:
            move_deal(session, deal_id, "qualified", ACTOR, reason="why not")
        assert caught.value.details["field"] == "reason"
        with pytest.raises(NotFoundError):
            move_deal(session, deal_id, "nowhere", ACTOR)
        # The same stage again records nothing.
        move_deal(session, deal_id, "negotiation", ACTOR, at=_days(6))
    with database.read_session() as session:
        history = session.scalars(
            select(DealStageChange).order_by(DealStageChange.changed_at)
        ).all()
        assert [(h.from_stage, h.to_stage) for h in history] == [
            (None, "lead"),
            ("lead", "proposal"),
            ("proposal", "negotiation"),
        ]


def test_won_and_lost_close_a_deal_with_a_reason_and_reopening_clears_it(
    database: Database,
) -> None:
    customer = _customer(database)
    deal_id = _deal(database, customer, "800")
    with database.session() as session:
        won = close_deal(session, deal_id, "won", ACTOR, reason="Best price", at=_days(9))
        assert (won.stage, won.probability_percent, won.closed_at) == ("won", 100, _days(9))
        assert won.close_reason == "Best price"
        with pytest.raises(ValidationError) as caught:
            update_deal(session, deal_id, {"probability": 40}, ACTOR)
        assert caught.value.details["field"] == "probability"
        lost = update_deal(
            session,
            deal_id,
            {"stage": "lost", "close_reason": "Went elsewhere"},
            ACTOR,
            now=_days(10),
        )
        assert (lost.probability_percent, lost.close_reason, lost.closed_at) == (
            0,
            "Went elsewhere",
            _days(10),
        )
        reopened = move_deal(session, deal_id, "negotiation", ACTOR, at=_days(11))
        assert (reopened.closed_at, reopened.close_reason) == (None, None)
        assert reopened.probability_percent == 75
        with pytest.raises(ValidationError) as caught:
            close_deal(session, deal_id, "maybe", ACTOR)
        assert caught.value.details["field"] == "outcome"


def test_a_new_currency_keeps_the_amount_only_when_it_fits(database: Database) -> None:
    customer = _customer(database)
    deal_id = _deal(database, customer, "1200")
    with database.session() as session:
        deal = update_deal(session, deal_id, {"currency": "JPY"}, ACTOR)
        assert (deal.value_minor, deal.currency) == (1200, "JPY")
        deal = update_deal(session, deal_id, {"currency": "USD", "value": "99.95"}, ACTOR)
        assert (deal.value_minor, deal.currency) == (9995, "USD")
        with pytest.raises(ValidationError) as caught:
            update_deal(session, deal_id, {"currency": "JPY"}, ACTOR)  # 99.95 JPY cannot be
        assert caught.value.details["field"] == "value"


def test_stages_are_added_renamed_reordered_and_reweighted(database: Database) -> None:
    customer = _customer(database)
    with database.session() as session:
        demo = create_stage(session, "Demo booked", 40, ACTOR, position=2)
        assert demo.key == "demo-booked"
        keys = [s.key for s in list_stages(session)]
        assert keys == [
            "lead",
            "qualified",
            "demo-booked",
            "proposal",
            "negotiation",
            "won",
            "lost",
        ]
        assert create_stage(session, "Follow up", 5, ACTOR).key == "follow-up"
        assert [s.key for s in list_stages(session)][-3:] == ["follow-up", "won", "lost"]
        rename_stage(session, "lead", "Enquiry", ACTOR)
        assert list_stages(session)[0].name == "Enquiry"
        rename_stage(session, "lead", None, ACTOR)
        assert list_stages(session)[0].name is None
        with pytest.raises(ValidationError):
            rename_stage(session, "demo-booked", None, ACTOR)  # has no built-in name
        with pytest.raises(ValidationError) as caught:
            move_stage(session, "won", 0, ACTOR)
        assert caught.value.details["field"] == "order"
        with pytest.raises(ValidationError):
            reorder_stages(session, ["lead", "won"], ACTOR)
        move_stage(session, "follow-up", 0, ACTOR)
        assert list_stages(session)[0].key == "follow-up"
        with pytest.raises(ConflictError):
            create_stage(session, "Other", 10, ACTOR, key="lead")
        with pytest.raises(ValidationError) as caught:
            create_stage(session, "Late", 10, ACTOR, position=9)
        assert caught.value.details["field"] == "position"
    # A new deal now starts in the new first stage.
    following = _deal(database, customer, "100", path=(("proposal", _days(1)),))
    own = _deal(database, customer, "100", path=(("proposal", _days(1)),))
    with database.session() as session:
        assert get_deal(session, following).probability_percent == 50
        update_deal(session, own, {"probability": 70}, ACTOR)
        set_stage_probability(session, "proposal", 55, ACTOR)
        assert get_deal(session, following).probability_percent == 55
        assert get_deal(session, own).probability_percent == 70
        with pytest.raises(ValidationError) as caught:
            set_stage_probability(session, "won", 90, ACTOR)
        assert caught.value.details["field"] == "probability"
        new = create_deal(session, ACTOR, name="N", customer_id=customer, value=1, currency="USD")
        assert (new.stage, new.probability_percent) == ("follow-up", 5)


def test_only_empty_open_stages_are_deleted_and_won_and_lost_stay(database: Database) -> None:
    customer = _customer(database)
    with database.session() as session:
        create_stage(session, "Demo", 40, ACTOR)
    deal_id = _deal(database, customer, "10", path=(("demo", _days(1)),))
    with database.session() as session:
        with pytest.raises(ConflictError):
            delete_stage(session, "demo", ACTOR)
        for key in ("won", "lost"):
            with pytest.raises(ConflictError):
                delete_stage(session, key, ACTOR)
        move_deal(session, deal_id, "proposal", ACTOR)
        delete_stage(session, "demo", ACTOR)
        assert [s.position for s in list_stages(session)] == list(range(6))
        delete_stage(session, "lead", ACTOR)
        delete_stage(session, "qualified", ACTOR)
        with pytest.raises(ConflictError):
            delete_stage(session, "proposal", ACTOR)  # it has the deal
        move_deal(session, deal_id, "negotiation", ACTOR)
        delete_stage(session, "proposal", ACTOR)
        with pytest.raises(ConflictError):
            delete_stage(session, "negotiation", ACTOR)  # the last open stage


def test_stale_deals_are_open_ones_quiet_for_the_set_number_of_days(database: Database) -> None:
    customer = _customer(database)
    _deal(database, customer, "100", name="quiet")
    busy = _deal(database, customer, "100", name="busy")
    closed = _deal(database, customer, "100", name="closed")
    with database.session() as session:
        record_deal_activity(session, busy, ACTOR, at=_days(20))
        close_deal(session, closed, "lost", ACTOR, at=_days(1))
    now = _days(31)
    with database.read_session() as session:
        cutoff = stale_cutoff(session, now)
        assert cutoff == _days(1)
        flags = {d.title: is_stale(d, cutoff) for d in list_deals(session)[0]}
        assert flags == {"quiet": True, "busy": False, "closed": False}
        stale, total = list_deals(session, stale=True, now=now)
        assert ([d.title for d in stale], total) == (["quiet"], 1)
        fresh, _ = list_deals(session, stale=False, now=now)
        assert sorted(d.title for d in fresh) == ["busy", "closed"]
    with database.session() as session:
        update_sales_settings(session, {"stale_days": 10}, ACTOR)
        assert {d.title for d in list_deals(session, stale=True, now=now)[0]} == {"quiet", "busy"}
        with pytest.raises(ValidationError) as caught:
            update_sales_settings(session, {"stale_days": 0}, ACTOR)
        assert caught.value.details["field"] == "stale_days"


def test_deals_are_filtered_by_stage_customer_and_outcome(database: Database) -> None:
    ada, bob = _customer(database, "Ada"), _customer(database, "Bob")
    _deal(database, ada, "1", name="a-lead")
    _deal(database, ada, "1", name="a-won", path=(("won", _days(1)),))
    _deal(database, bob, "1", name="b-proposal", path=(("proposal", _days(1)),))
    with database.read_session() as session:
        assert [d.title for d in list_deals(session, customer_id=ada)[0]] == ["a-won", "a-lead"]
        assert [d.title for d in list_deals(session, stage="proposal")[0]] == ["b-proposal"]
        assert [d.title for d in list_deals(session, outcome="won")[0]] == ["a-won"]
        assert {d.title for d in list_deals(session, outcome="open")[0]} == {"a-lead", "b-proposal"}
        page, total = list_deals(session, limit=1, offset=1)
        assert (len(page), total) == (1, 3)


def test_deleting_a_deal_keeps_its_tasks(database: Database) -> None:
    customer = _customer(database)
    deal_id = _deal(database, customer, "1", path=(("proposal", _days(1)),))
    with database.session() as session:
        task_id = create_task(session, "Call back", ACTOR, deal_id=deal_id).id
        delete_deal(session, deal_id, ACTOR)
    with database.read_session() as session:
        task = get_task(session, task_id)
        assert (task.deal_id, task.customer_id) == (None, customer)
        assert session.scalars(select(DealStageChange)).all() == []


# --- the forecast ----------------------------------------------------------------------------

RATES = {"EUR": Decimal("1.10"), "JPY": Decimal("0.0067")}
NOW = dt.datetime(2026, 12, 15, 12, 0, tzinfo=dt.UTC)


def test_forecast_by_month_in_the_workspace_currency(database: Database) -> None:
    """Hand-computed, in USD with EUR at 1.10 and JPY at 0.0067, Asia/Shanghai time:

    December: A 1000.00 × 10 % = 100.00; G (expected in November, still open) 150.00 × 25 %
    = 37.50; E won on 3 December 200.00 and J won at 04:00 on 1 December Shanghai time 10.00,
    both at 100 %: weighted 347.50, total 1360.00.
    January: B 500 EUR = 550.00 × 50 % = 275.00; C 120,000 JPY = 804.00 × 75 % = 603.00:
    weighted 878.00, total 1354.00; D 300 GBP has no rate: left out and named.
    February: nothing. March: I 77.77 × 10 % = 7.777, rounded half to even to 7.78.
    Left out everywhere: F (lost), K (won at 23:00 on 30 November Shanghai time), H (no date).
    """
    c = _customer(database)
    _deal(database, c, "1000", expected=dt.date(2026, 12, 20))  # A
    _deal(database, c, "500", "EUR", expected=dt.date(2027, 1, 10), path=(("proposal", T0),))
    _deal(database, c, "120000", "JPY", expected=dt.date(2027, 1, 31), path=(("negotiation", T0),))
    _deal(database, c, "300", "GBP", expected=dt.date(2027, 1, 5))  # D
    _deal(database, c, "200", path=(("won", dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC)),))
    _deal(database, c, "999", expected=dt.date(2026, 12, 1), path=(("lost", _days(3)),))
    _deal(database, c, "150", expected=dt.date(2026, 11, 2), path=(("qualified", T0),))  # G
    _deal(database, c, "80")  # H: no expected close date
    _deal(database, c, "77.77", expected=dt.date(2027, 3, 15))  # I
    _deal(database, c, "10", path=(("won", dt.datetime(2026, 11, 30, 20, tzinfo=dt.UTC)),))
    _deal(database, c, "5000", path=(("won", dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)),))
    with database.read_session() as session:
        forecast = forecast_deals(
            session, "USD", RATES, months=4, timezone="Asia/Shanghai", now=NOW
        )
    rows = [(m.month, str(m.weighted), str(m.total)) for m in forecast.months]
    assert rows == [
        ("2026-12", "347.50", "1360.00"),
        ("2027-01", "878.00", "1354.00"),
        ("2027-02", "0.00", "0.00"),
        ("2027-03", "7.78", "77.77"),
    ]
    december, january = forecast.months[0], forecast.months[1]
    assert (december.open_deals, december.won_deals, str(december.won)) == (2, 2, "210.00")
    assert [(p.currency, p.deals, str(p.value)) for p in january.left_out] == [("GBP", 1, "300.00")]
    assert (forecast.overdue_deals, forecast.undated_deals) == (1, 1)
    notes = forecast.notes()
    assert any("GBP" in line and "soloist rates set GBP" in line for line in notes)
    assert any("no expected close date" in line for line in notes)


def test_forecast_months_start_where_asked_and_are_listed_when_empty(database: Database) -> None:
    with database.read_session() as session:
        forecast = forecast_deals(session, "EUR", {}, months=3, start=dt.date(2027, 11, 5), now=NOW)
    assert [(m.month, str(m.weighted), str(m.total)) for m in forecast.months] == [
        ("2027-11", "0.00", "0.00"),
        ("2027-12", "0.00", "0.00"),
        ("2028-01", "0.00", "0.00"),
    ]


# --- the statistics --------------------------------------------------------------------------


def test_conversion_and_time_per_stage_from_the_history(database: Database) -> None:
    """Five deals (days after T0):

    d1 100: lead 0 → qualified 2 → proposal 5 → won 9
    d2 200: lead 0 → qualified 4 → lost 10
    d3 300: lead 1 → proposal 3 (skips qualified), still there
    d4 400 EUR (no rate): lead 0, still there
    d5 500: lead 0 → qualified 1 → lead 2 → qualified 6, still there

    lead: entered 5, advanced 4 (all but d4) = 0.8; by value (USD deals) 1100 of 1100 = 1.0;
    finished stays 2, 4, 2, 1, 4 days: median 2, mean 2.6.
    qualified: entered 3 (d1, d2, d5), advanced 1 (d1; lost is no progress, d5 went back) = 1/3;
    stays 3, 6, 1: median 3, mean 10/3.
    proposal: entered 2, advanced 1 (d1 won) = 0.5; one finished stay of 4 days.
    Win rate 1 of 2 closed; by value 100 of 300.
    """
    c = _customer(database)
    _deal(
        database,
        c,
        "100",
        path=(("qualified", _days(2)), ("proposal", _days(5)), ("won", _days(9))),
    )
    _deal(database, c, "200", path=(("qualified", _days(4)), ("lost", _days(10))))
    _deal(database, c, "300", at=_days(1), path=(("proposal", _days(3)),))
    _deal(database, c, "400", "EUR")
    _deal(
        database,
        c,
        "500",
        path=(("qualified", _days(1)), ("lead", _days(2)), ("qualified", _days(6))),
    )
    with database.read_session() as session:
        stats = pipeline_stats(session, "USD", {})
    by_key = {s.key: s for s in stats.stages}
    lead, qualified, proposal = by_key["lead"], by_key["qualified"], by_key["proposal"]
    assert (lead.entered, lead.advanced, lead.conversion_rate) == (5, 4, 0.8)
    assert lead.conversion_rate_by_value == 1.0
    assert (lead.stays, lead.median_days, lead.mean_days) == (5, 2.0, pytest.approx(2.6))
    assert (qualified.entered, qualified.advanced) == (3, 1)
    assert qualified.conversion_rate == pytest.approx(1 / 3)
    assert qualified.conversion_rate_by_value == pytest.approx(100 / 800)
    assert (qualified.median_days, qualified.mean_days) == (3.0, pytest.approx(10 / 3))
    assert (proposal.entered, proposal.advanced, proposal.conversion_rate) == (2, 1, 0.5)
    assert (proposal.stays, proposal.median_days) == (1, 4.0)
    assert by_key["negotiation"].conversion_rate is None
    assert by_key["won"].conversion_rate is None
    assert [(s.key, s.current) for s in stats.stages] == [
        ("lead", 1),
        ("qualified", 1),
        ("proposal", 1),
        ("negotiation", 0),
        ("won", 1),
        ("lost", 1),
    ]
    assert (stats.won, stats.lost, stats.win_rate) == (1, 1, 0.5)
    assert stats.win_rate_by_value == pytest.approx(1 / 3)
    assert [(p.currency, p.deals, str(p.value)) for p in stats.left_out] == [("EUR", 1, "400.00")]
