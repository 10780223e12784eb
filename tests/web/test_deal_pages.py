"""The pipeline's pages: the board (columns, sums, stale badges, the forecast), a new deal, moving
a deal without JavaScript and with it (JSON), winning and losing with reasons, a deal's page,
the statistics and the pipeline's settings; read-only users see and cannot change; every page
renders in English and Chinese."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soloist.app import create_app
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.sales import (
    BUILT_IN_STAGE_NAMES,
    RULE_KINDS,
    TASK_STATES,
    create_deal,
    forecast_deals,
    get_deal,
    list_stages,
    move_deal,
    task_rules,
)
from soloist.storage.database import Database
from soloist.storage.models import TASK_PRIORITIES, Deal, DealStageChange
from soloist.web import labels
from soloist.web.i18n import Formatter
from tests.web.conftest import raw_keys_and_reprs, sign_in, visible_texts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
JSON = {"Accept": "application/json"}
NOW = dt.datetime.now(dt.UTC)


def _customer(database: Database, name: str, email: str | None = None) -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name=name, email=email), "test").id


def _deal(
    database: Database,
    customer_id: int,
    name: str,
    value: str = "1000",
    *,
    currency: str = "USD",
    stage: str | None = None,
    closes: dt.date | None = None,
    created: dt.datetime | None = None,
) -> int:
    with database.session() as session:
        deal = create_deal(
            session,
            "test",
            name=name,
            customer_id=customer_id,
            value=value,
            currency=currency,
            expected_close_on=closes,
            now=created,
        )
        if stage is not None:
            move_deal(
                session,
                deal.id,
                stage,
                "test",
                reason="test" if stage == "lost" else None,
                at=created,
            )
        return deal.id


def _stage_of(database: Database, deal_id: int) -> tuple[str, str | None]:
    with database.read_session() as session:
        deal = get_deal(session, deal_id)
        return deal.stage, deal.close_reason


def _card(page: str, deal_id: int) -> str:
    found = re.search(rf'<li class="deal-card[^"]*" id="deal-{deal_id}".*?</li>', page, re.S)
    assert found, f"deal {deal_id} has no card"
    return found.group(0)


def _column(page: str, key: str) -> str:
    found = re.search(rf'<section class="column[^"]*" id="column-{key}".*?</section>', page, re.S)
    assert found, f"no column {key}"
    return found.group(0)


def _text(fragment: str) -> str:
    return " ".join(visible_texts(fragment))


def _token(client: TestClient, path: str = "/deals") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


@pytest.fixture
def rated(sqlite_database: Database) -> Iterator[TestClient]:
    """The web app of a workspace whose owner gave a rate for EUR (1 EUR = 1.10 USD) and none
    for JPY."""
    from soloist.domain.users import add_user

    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", "a long enough password", "test")
    settings = sqlite_database.settings.model_copy(update={"rates": {"EUR": Decimal("1.10")}})
    with TestClient(create_app(settings, sqlite_database)) as client:
        yield client


# --- the board -------------------------------------------------------------------------------


def test_the_board_has_a_column_per_stage_with_its_deals_and_sums(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    first = _deal(sqlite_database, ada, "Espresso machines", "1000")
    second = _deal(sqlite_database, ada, "Grinders", "500.50", stage="proposal")
    won = _deal(sqlite_database, ada, "Beans for a year", "2000", stage="won")
    sign_in(web)

    page = web.get("/deals")
    assert page.status_code == 200
    headings = re.findall(r'<h2 id="column-(\w+)-title">', page.text)
    assert headings == ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
    lead = _column(page.text, "lead")
    assert "Espresso machines" in lead
    assert f'href="/customers/{ada}"' in _card(page.text, first)
    assert "Ada Lovelace" in _card(page.text, first)
    # lead is 10 %: 1,000 weighs 100; proposal 50 %: 500.50 weighs 250.25
    assert "$1,000.00" in _text(lead)
    assert "weighted $100.00" in _text(lead)
    proposal = _column(page.text, "proposal")
    assert "$500.50" in _text(proposal)
    assert "weighted $250.25" in _text(proposal)
    assert f'id="deal-{second}"' in proposal
    assert f'id="deal-{won}"' in _column(page.text, "won")
    assert "see all 1" in _text(_column(page.text, "won"))
    # each card can be moved by its form, to any other stage
    card = _card(page.text, first)
    assert 'draggable="true"' in card
    assert re.findall(r'<option value="(\w+)">', card) == [
        "qualified",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]


def test_the_sums_count_other_currencies_at_the_owners_rate_and_name_what_is_left_out(
    rated: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    _deal(sqlite_database, ada, "Paris café", "100", currency="EUR")
    _deal(sqlite_database, ada, "Tokyo hotel", "50000", currency="JPY")
    _deal(sqlite_database, ada, "Boston office", "10")
    sign_in(rated)

    lead = _text(_column(rated.get("/deals").text, "lead"))
    assert "$120.00" in lead  # 100 EUR × 1.10 + 10 USD; the yen deal has no rate
    assert "weighted $12.00" in lead
    assert "not counted, no exchange rate: ¥50,000 (1 deal)" in lead


def test_a_won_deal_of_last_year_is_not_on_the_board_but_in_the_list(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    old = _deal(
        sqlite_database, ada, "Last year's order", stage="won", created=NOW - dt.timedelta(days=400)
    )
    sign_in(web)
    column = _column(web.get("/deals").text, "won")
    assert f'id="deal-{old}"' not in column
    assert "see all 1" in _text(column)
    listed = web.get("/deals/list?stage=won")
    assert f'id="deal-row-{old}"' in listed.text


def test_a_stale_deal_carries_the_stale_badge(web: TestClient, sqlite_database: Database) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    quiet = _deal(sqlite_database, ada, "Forgotten", created=NOW - dt.timedelta(days=45))
    busy = _deal(sqlite_database, ada, "Busy")
    sign_in(web)
    page = web.get("/deals").text
    assert "stale" in visible_texts(_card(page, quiet))
    assert "stale" not in visible_texts(_card(page, busy))
    assert re.search(r'id="stale-count">1<', page)
    assert f'id="deal-row-{quiet}"' in web.get("/deals/list?stale=1").text


def test_a_past_due_deal_says_so_in_words(web: TestClient, sqlite_database: Database) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    late = _deal(sqlite_database, ada, "Late", closes=dt.date.today() - dt.timedelta(days=3))
    sign_in(web)
    card = _card(web.get("/deals").text, late)
    assert "past due" in visible_texts(card)


def test_the_forecast_table_is_forecast_deals(web: TestClient, sqlite_database: Database) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    today = dt.date.today()
    next_month = (today.replace(day=1) + dt.timedelta(days=40)).replace(day=15)
    _deal(sqlite_database, ada, "Soon", "1234.56", closes=today, stage="proposal")
    _deal(sqlite_database, ada, "Later", "999.99", closes=next_month, stage="negotiation")
    _deal(sqlite_database, ada, "Won now", "300", stage="won")
    _deal(sqlite_database, ada, "Undated", "50")
    sign_in(web)
    page = web.get("/deals").text
    with sqlite_database.read_session() as session:
        forecast = forecast_deals(session, "USD", {}, months=6, timezone="UTC")
    money = Formatter("en").money
    assert len(re.findall(r'<tr id="forecast-\d{4}-\d{2}">', page)) == 6
    for month in forecast.months:
        row = re.search(rf'<tr id="forecast-{month.month}">(.*?)</tr>', page, re.S)
        assert row, month.month
        cells = visible_texts(row.group(1))
        assert cells[1:] == [
            str(month.open_deals),
            str(month.won_deals),
            money(month.total, "USD"),
            money(month.weighted, "USD"),
        ]
    first = forecast.months[0]
    assert first.weighted == Decimal("617.28") + Decimal("300")  # 1,234.56 × 50 % + won in full
    assert "1 open deal has no expected close date and counts in no month." in page


# --- a new deal --------------------------------------------------------------------------------


def test_a_new_deal_from_the_form_starts_in_the_stage_chosen(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    token = sign_in(web)
    form = web.get("/deals/new")
    assert form.status_code == 200
    assert 'value="USD"' in form.text  # the workspace's currency
    created = web.post(
        "/deals/new",
        data={
            "customer": "ada@example.com",
            "name": "Café fit-out",
            "value": "12,500.00",
            "currency": "USD",
            "expected_close": "2031-03-31",
            "stage": "qualified",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    deal_id = int(created.headers["location"].split("/")[2].split("?")[0])
    with sqlite_database.read_session() as session:
        deal = get_deal(session, deal_id)
        assert (deal.customer_id, deal.title, deal.value_minor, deal.stage) == (
            ada,
            "Café fit-out",
            1_250_000,
            "qualified",
        )
        assert deal.expected_close_on == dt.date(2031, 3, 31)
        assert deal.probability_percent == 25
    page = web.get(created.headers["location"])
    assert "The deal is in the pipeline." in page.text
    assert len(re.findall(r'class="history-row"', page.text)) == 2  # started in lead, moved on


def test_a_new_deal_with_a_mistake_saves_nothing_and_says_where(
    web: TestClient, sqlite_database: Database
) -> None:
    _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    token = sign_in(web)
    wrong = web.post(
        "/deals/new",
        data={
            "customer": "ada@example.com",
            "name": "Café",
            "value": "lots",
            "currency": "USD",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert re.search(r'id="value-error" role="alert">Give the value as a number', wrong.text)
    assert 'value="Café"' in wrong.text  # the form keeps what was typed
    nobody = web.post(
        "/deals/new",
        data={"customer": "who@example.com", "name": "Café", "value": "10", "csrf_token": token},
    )
    assert nobody.status_code == 404
    assert 'id="customer-error"' in nobody.text
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count(Deal.id))) == 0


def test_a_name_that_matches_several_customers_offers_them(
    web: TestClient, sqlite_database: Database
) -> None:
    _customer(sqlite_database, "Ada Lovelace")
    byron = _customer(sqlite_database, "Ada Byron")
    token = sign_in(web)
    form = {"customer": "Ada", "name": "Tea", "value": "10", "csrf_token": token}
    asked = web.post("/deals/new", data=form)
    assert asked.status_code == 422
    assert "Several customers match: choose one." in asked.text
    assert f'name="customer_id" value="{byron}"' in asked.text
    chosen = web.post(
        "/deals/new", data={**form, "customer_id": str(byron)}, follow_redirects=False
    )
    assert chosen.status_code == 303
    with sqlite_database.read_session() as session:
        assert session.scalar(select(Deal.customer_id)) == byron


# --- moving, winning, losing -------------------------------------------------------------------


def test_the_move_form_moves_the_deal_and_records_the_history(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders")
    token = sign_in(web)
    moved = web.post(
        f"/deals/{deal_id}/move",
        data={"stage": "proposal", "next": "/deals", "csrf_token": token},
        follow_redirects=False,
    )
    assert (moved.status_code, moved.headers["location"]) == (303, "/deals?done=moved")
    assert _stage_of(sqlite_database, deal_id) == ("proposal", None)
    assert f'id="deal-{deal_id}"' in _column(web.get("/deals").text, "proposal")
    with sqlite_database.read_session() as session:
        changes = session.scalars(
            select(DealStageChange).where(DealStageChange.deal_id == deal_id)
        ).all()
    assert [(c.from_stage, c.to_stage) for c in changes] == [(None, "lead"), ("lead", "proposal")]
    history = web.get(f"/deals/{deal_id}").text.split('id="history"')[1].split("</table>")[0]
    rows = re.findall(r'<tr class="history-row">(.*?)</tr>', history, re.S)
    assert visible_texts(rows[1])[:2] == ["Lead", "Proposal"]
    assert "owner@example.com" in visible_texts(rows[1])  # who moved it


def test_the_boards_script_moves_a_deal_with_json(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders")
    token = sign_in(web)
    answer = web.post(
        f"/deals/{deal_id}/move",
        data={"stage": "negotiation"},
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert answer.json() == {"ok": True, "deal": deal_id, "stage": "negotiation"}
    refused = web.post(
        f"/deals/{deal_id}/move", data={"stage": "nowhere"}, headers={**JSON, "X-CSRF-Token": token}
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "Choose a stage from the list."
    assert _stage_of(sqlite_database, deal_id) == ("negotiation", None)


def test_winning_asks_the_reason_first_and_keeps_it(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Beans for a year", stage="negotiation")
    token = sign_in(web)
    asked = web.post(f"/deals/{deal_id}/move", data={"stage": "won", "csrf_token": token})
    assert asked.status_code == 200
    assert "Mark “Beans for a year” as won" in html.unescape(asked.text)
    assert _stage_of(sqlite_database, deal_id) == ("negotiation", None)  # not yet
    done = web.post(
        f"/deals/{deal_id}/move",
        data={
            "stage": "won",
            "asked": "page",
            "reason": "Loved the tasting",
            "next": "/deals",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == "/deals?done=won"
    assert _stage_of(sqlite_database, deal_id) == ("won", "Loved the tasting")
    column = _column(web.get("/deals").text, "won")
    assert "Loved the tasting" in _text(column)


def test_losing_needs_a_reason(web: TestClient, sqlite_database: Database) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders", stage="proposal")
    token = sign_in(web)
    blank = web.post(
        f"/deals/{deal_id}/move",
        data={"stage": "lost", "asked": "page", "reason": "  ", "csrf_token": token},
    )
    assert blank.status_code == 422
    assert re.search(r'id="reason-error" role="alert">Say why the deal was lost.', blank.text)
    scripted = web.post(
        f"/deals/{deal_id}/move",
        data={"stage": "lost", "asked": "dialog"},
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert (scripted.status_code, scripted.json()["field"]) == (422, "reason")
    from_page = web.post(
        f"/deals/{deal_id}/stage", data={"stage": "lost", "asked": "form", "csrf_token": token}
    )
    assert from_page.status_code == 422
    assert 'id="close-lost" checked' in from_page.text  # the close form keeps the choice
    assert _stage_of(sqlite_database, deal_id) == ("proposal", None)
    web.post(
        f"/deals/{deal_id}/stage",
        data={"stage": "lost", "asked": "form", "reason": "Too dear", "csrf_token": token},
    )
    assert _stage_of(sqlite_database, deal_id) == ("lost", "Too dear")


def test_a_read_only_user_sees_the_board_and_cannot_move_a_deal(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders")
    token = sign_in(web, "viewer@example.com")
    page = web.get("/deals")
    assert page.status_code == 200
    card = _card(page.text, deal_id)
    assert "draggable" not in card
    assert "move-form" not in card
    assert 'id="new-deal"' not in page.text
    forged = web.post(f"/deals/{deal_id}/move", data={"stage": "qualified", "csrf_token": token})
    assert forged.status_code == 403
    scripted = web.post(
        f"/deals/{deal_id}/move",
        data={"stage": "qualified"},
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert scripted.status_code == 403
    edited = web.post(f"/deals/{deal_id}/edit", data={"name": "Mine", "csrf_token": token})
    assert edited.status_code == 403
    assert _stage_of(sqlite_database, deal_id) == ("lead", None)
    assert 'id="save-deal"' not in web.get(f"/deals/{deal_id}").text


def test_a_move_without_the_csrf_token_is_refused(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders")
    sign_in(web)
    refused = web.post(f"/deals/{deal_id}/move", data={"stage": "qualified"}, headers=JSON)
    assert refused.status_code == 403
    assert _stage_of(sqlite_database, deal_id) == ("lead", None)


# --- a deal's page ---------------------------------------------------------------------------


def test_the_deal_page_changes_the_fields_and_refuses_a_bad_one(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders", "100", stage="proposal")
    token = sign_in(web)
    fields = {
        "name": "Two grinders",
        "value": "250",
        "currency": "USD",
        "expected_close": "2031-01-15",
        "probability": "80",
        "owner": "1",
        "csrf_token": token,
    }
    saved = web.post(f"/deals/{deal_id}/edit", data=fields, follow_redirects=False)
    assert saved.headers["location"] == f"/deals/{deal_id}?done=saved"
    with sqlite_database.read_session() as session:
        deal = get_deal(session, deal_id)
        assert (deal.title, deal.value_minor, deal.probability_percent, deal.owner_id) == (
            "Two grinders",
            25_000,
            80,
            1,
        )
    wrong = web.post(
        f"/deals/{deal_id}/edit", data={**fields, "name": "Three", "expected_close": "soon"}
    )
    assert wrong.status_code == 422
    assert 'id="close-error"' in wrong.text
    back = web.post(
        f"/deals/{deal_id}/edit", data={**fields, "probability": ""}, follow_redirects=False
    )
    assert back.status_code == 303
    with sqlite_database.read_session() as session:
        deal = get_deal(session, deal_id)
        assert deal.title == "Two grinders"  # the wrong form saved nothing
        assert deal.probability_percent == 50  # an empty probability is the stage's again


def test_only_the_owner_deletes_a_deal_and_only_after_the_question(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(sqlite_database, ada, "Grinders")
    staff = sign_in(web, "staff@example.com")
    assert (
        web.post(
            f"/deals/{deal_id}/delete", data={"confirm": "yes", "csrf_token": staff}
        ).status_code
        == 403
    )
    web.cookies.clear()
    token = sign_in(web)
    question = web.post(f"/deals/{deal_id}/delete", data={"csrf_token": token})
    assert 'id="delete-confirm"' in question.text
    with sqlite_database.read_session() as session:
        assert session.get(Deal, deal_id) is not None
    web.post(f"/deals/{deal_id}/delete", data={"confirm": "yes", "csrf_token": token})
    with sqlite_database.read_session() as session:
        assert session.get(Deal, deal_id) is None


# --- statistics ------------------------------------------------------------------------------


def test_the_statistics_page_shows_conversion_and_time_per_stage(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    start = NOW - dt.timedelta(days=30)
    ids = [_deal(sqlite_database, ada, f"Deal {n}", "100", created=start) for n in range(4)]
    with sqlite_database.session() as session:
        # two leave lead for qualified after 2 and 4 days; one is lost from lead after 6 days
        move_deal(session, ids[0], "qualified", "test", at=start + dt.timedelta(days=2))
        move_deal(session, ids[1], "qualified", "test", at=start + dt.timedelta(days=4))
        move_deal(
            session, ids[2], "lost", "test", reason="No budget", at=start + dt.timedelta(days=6)
        )
        move_deal(session, ids[0], "won", "test", at=start + dt.timedelta(days=10))
    sign_in(web)
    page = web.get("/deals/stats")
    assert page.status_code == 200
    lead = visible_texts(re.search(r'<tr id="stats-lead">(.*?)</tr>', page.text, re.S).group(1))
    # stage, now, entered, went further, conversion, by value, stays, median, mean
    assert lead == ["Lead", "1", "4", "2", "50.0%", "50.0%", "3", "4.0", "4.0"]
    qualified = re.search(r'<tr id="stats-qualified">(.*?)</tr>', page.text, re.S).group(1)
    assert visible_texts(qualified)[2:5] == ["2", "1", "50.0%"]
    assert re.search(r'id="stats-win-rate">50.0%<', page.text)


# --- settings --------------------------------------------------------------------------------


def test_the_owner_adds_and_renames_stages(web: TestClient, sqlite_database: Database) -> None:
    token = sign_in(web)
    page = web.get("/settings/pipeline")
    assert page.status_code == 200
    added = web.post(
        "/settings/pipeline/stages",
        data={"name": "Demo booked", "probability": "40", "csrf_token": token},
        follow_redirects=False,
    )
    assert added.status_code == 303
    web.post(
        "/settings/pipeline/stages/lead",
        data={"name": "Inbound", "probability": "15", "csrf_token": token},
    )
    with sqlite_database.read_session() as session:
        stages = {s.key: s for s in list_stages(session)}
    keys = list(stages)
    assert keys.index("demo-booked") == keys.index("negotiation") + 1 < keys.index("won")
    assert (stages["lead"].name, stages["lead"].probability_percent) == ("Inbound", 15)
    board = web.get("/deals").text
    assert re.search(r'<h2 id="column-lead-title">Inbound ', board)
    assert re.search(r'<h2 id="column-demo-booked-title">Demo booked ', board)
    web.post(
        "/settings/pipeline/stages/lead",
        data={"name": "", "probability": "15", "csrf_token": token},
    )
    assert re.search(r'<h2 id="column-lead-title">Lead ', web.get("/deals").text)
    web.post(
        "/settings/pipeline/stages/demo-booked/move", data={"direction": "up", "csrf_token": token}
    )
    with sqlite_database.read_session() as session:
        order = [s.key for s in list_stages(session)]
    assert order.index("demo-booked") == order.index("negotiation") - 1
    bad = web.post(
        "/settings/pipeline/stages",
        data={"name": "Maybe", "probability": "150", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert 'id="new-probability-error"' in bad.text


def test_a_stage_with_deals_cannot_be_deleted_and_says_why(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    _deal(sqlite_database, ada, "Grinders", stage="qualified")
    token = sign_in(web)
    refused = web.post("/settings/pipeline/stages/qualified/delete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert re.search(
        r'id="stage-qualified-error" role="alert">This stage still has 1 deal: move it to another '
        r"stage first.",
        refused.text,
    )
    emptied = web.post(
        "/settings/pipeline/stages/proposal/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert emptied.status_code == 303
    with sqlite_database.read_session() as session:
        keys = [s.key for s in list_stages(session)]
    assert "qualified" in keys
    assert "proposal" not in keys


def test_stale_days_and_task_rules_are_set_on_the_settings_page(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    web.post("/settings/pipeline/stale", data={"stale_days": "14", "csrf_token": token})
    assert 'value="14"' in web.get("/settings/pipeline").text
    for kind, extra in (
        ("deal_stage", {"stage": "proposal"}),
        ("churn_risk", {"threshold": "70", "min_clv": "500"}),
        ("sla_breach", {}),
    ):
        answer = web.post(
            "/settings/pipeline/rules",
            data={
                "kind": kind,
                "title": f"Follow up ({kind})",
                "due_days": "2",
                "csrf_token": token,
                **extra,
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text[:300]
    with sqlite_database.read_session() as session:
        rules = task_rules(session)
    assert [r.kind for r in rules] == ["deal_stage", "churn_risk", "sla_breach"]
    assert rules[1].threshold == pytest.approx(0.7)
    assert rules[1].min_clv == Decimal("500")
    page = web.get("/settings/pipeline").text
    assert "churn risk reaches 70%, 12-month CLV at least $500.00" in page
    web.post(f"/settings/pipeline/rules/{rules[0].id}/delete", data={"csrf_token": token})
    with sqlite_database.read_session() as session:
        assert [r.kind for r in task_rules(session)] == ["churn_risk", "sla_breach"]
    wrong = web.post(
        "/settings/pipeline/rules",
        data={"kind": "churn_risk", "title": "x", "threshold": "120", "csrf_token": token},
    )
    assert wrong.status_code == 422
    assert 'id="rule-churn-risk-threshold-error"' in wrong.text


def test_staff_see_the_pipeline_settings_and_cannot_change_them(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web, "staff@example.com")
    page = web.get("/settings/pipeline")
    assert page.status_code == 200
    assert 'id="owner-only"' in page.text
    refused = web.post(
        "/settings/pipeline/stages", data={"name": "Mine", "probability": "5", "csrf_token": token}
    )
    assert refused.status_code == 403
    with sqlite_database.read_session() as session:
        assert len(list_stages(session)) == 6


# --- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, CHINESE], ids=["en", "zh_Hans"])
def test_every_pipeline_page_renders_without_raw_keys(
    web: TestClient, sqlite_database: Database, headers: dict[str, str]
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    deal_id = _deal(
        sqlite_database, ada, "Grinders", stage="proposal", created=NOW - dt.timedelta(days=40)
    )
    _deal(sqlite_database, ada, "Beans", stage="lost")
    sign_in(web)
    language = "zh-Hans" if headers else "en"
    for path in (
        "/deals",
        f"/deals/{deal_id}",
        "/deals/new",
        "/deals/list",
        "/deals/stats",
        "/deals/stats?days=90",
        "/settings/pipeline",
        f"/customers/{ada}",
    ):
        page = web.get(path, headers=headers)
        assert page.status_code == 200, path
        assert page.headers["content-language"] == language
        assert raw_keys_and_reprs(visible_texts(page.text)) == [], path


def test_every_built_in_code_of_the_pipeline_has_a_label() -> None:
    assert set(BUILT_IN_STAGE_NAMES) == set(labels.DEAL_STAGES)
    assert set(TASK_PRIORITIES) == set(labels.TASK_PRIORITIES)
    assert set(TASK_STATES) == set(labels.TASK_STATES)
    assert set(RULE_KINDS) == set(labels.TASK_RULE_KINDS)
    assert all(name in labels.TABLES for name in ("DEAL_STAGES", "TASK_PRIORITIES"))
