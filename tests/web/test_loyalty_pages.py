"""The loyalty pages: programme overview with the measured effect, and a member's page."""

from __future__ import annotations

import datetime as dt
import time

from fastapi.testclient import TestClient

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.programme import adjust_points, enrol_customers
from soloist.domain.loyalty.rules import update_programme_settings
from soloist.storage.database import Database
from soloist.storage.models import LoyaltyAccount
from tests.web.conftest import sign_in


def test_loyalty_pages_need_a_sign_in(web: TestClient) -> None:
    for path in ("/loyalty", "/customers/1/loyalty"):
        response = web.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_an_empty_workspace_says_how_to_start(web: TestClient) -> None:
    sign_in(web)
    page = web.get("/loyalty")
    assert page.status_code == 200
    assert "soloist loyalty enrol" in page.text


def test_overview_and_member_page_show_balances_tiers_and_the_effect(
    web: TestClient, sqlite_database: Database
) -> None:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with sqlite_database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.5, "holdout_seed": 3}, "t")
        ids = [create_customer(session, CustomerCreate(name=f"C{i}"), "t").id for i in range(20)]
        enrol_customers(session, "t", customer_ids=ids, now=when)
        member = next(cid for cid in ids if session.get(LoyaltyAccount, cid).group == "member")
        adjust_points(session, member, 250, "<script>alert(1)</script>", "t")
    sign_in(web)
    overview = web.get("/loyalty")
    assert overview.status_code == 200
    for marker in ('id="loyalty-kpis"', 'id="kpi-liability"', 'id="loyalty-effect"', "Bronze"):
        assert marker in overview.text
    mine = web.get(f"/customers/{member}/loyalty")
    assert mine.status_code == 200
    assert 'id="balance">350<' in mine.text  # 100 sign-up bonus + 250
    assert "<script>alert(1)</script>" not in mine.text
    assert "&lt;script&gt;" in mine.text
    assert web.get("/customers/9999/loyalty").status_code == 404


def test_the_overview_speaks_chinese(web: TestClient, sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        ids = [create_customer(session, CustomerCreate(name=f"C{i}"), "t").id for i in range(6)]
        enrol_customers(session, "t", customer_ids=ids)
    sign_in(web)
    page = web.get("/loyalty", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert "会员计划能让客户回头吗？" in page.text
    assert "80% 检验功效" in page.text


def _members_shown(page: str) -> str:
    return page.split('id="kpi-members">')[1].split("<")[0]


def test_the_overview_shows_the_last_figures_while_it_works_out_new_ones(
    web: TestClient, sqlite_database: Database
) -> None:
    """At a hundred thousand customers the report takes seconds: after a change the page shows
    the previous figures, says so, and shows the new ones once they are worked out."""
    with sqlite_database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.0}, "t")
        ids = [create_customer(session, CustomerCreate(name=f"C{i}"), "t").id for i in range(3)]
        enrol_customers(session, "t", customer_ids=ids)
    sign_in(web)
    first = web.get("/loyalty").text
    assert 'id="stale"' not in first
    assert _members_shown(first) == "3"
    with sqlite_database.session() as session:
        more = [create_customer(session, CustomerCreate(name=f"D{i}"), "t").id for i in range(2)]
        enrol_customers(session, "t", customer_ids=more)
    meanwhile = web.get("/loyalty").text
    assert 'id="stale"' in meanwhile
    assert _members_shown(meanwhile) == "3"
    deadline = time.monotonic() + 30
    while 'id="stale"' in (page := web.get("/loyalty").text):
        assert time.monotonic() < deadline, "the new report was never worked out"
        time.sleep(0.05)
    assert _members_shown(page) == "5"
