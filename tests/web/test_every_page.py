"""Every page of the web app, in English and in Chinese, on a demo workspace with real scores:
no page shows a ``word:word`` key or a Python dict, and no Chinese page shows an English message
that has a translation."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

import soloist.web
from soloist.app import create_app
from soloist.config import load_settings
from soloist.demo.business import build_demo
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.journeys import create_journey, list_journeys
from soloist.domain.scoring import analyze_workspace, score_churn_risk, segment_customers
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import (
    Campaign,
    Customer,
    CustomerScore,
    Deal,
    Interaction,
    LedgerEntry,
    LoyaltyAccount,
    Review,
    Task,
    Ticket,
)
from soloist.web.i18n import Translator
from soloist.web.labels import Contextual
from tests.web.conftest import (
    PASSWORD,
    csrf_of,
    extracted_messages,
    raw_keys_and_reprs,
    visible_texts,
)

LANGUAGES = {"en": "en-US,en;q=0.9", "zh_Hans": "zh-CN,zh;q=0.9"}
LANGUAGE_TAGS = {"en": "en", "zh_Hans": "zh-Hans"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, master_key: str) -> Iterator[Database]:
    """A 300-customer demo, analysed as `soloist analyze`, `churn` and `segments` do."""
    folder = tmp_path_factory.mktemp("every-page")
    database = Database(load_settings(workspace=folder, environ={"SOLOIST_MASTER_KEY": master_key}))
    upgrade_database(database.engine)
    with database.session() as session:
        build_demo(
            session, customers=300, seed=5, end_date=dt.date(2026, 6, 30), owner_password=PASSWORD
        )
    with database.session() as session:
        analyze_workspace(session, "USD", "test")
        score_churn_risk(session, "USD", "test")
        segment_customers(session, "USD", "test", method="kmeans")
    with database.session() as session:
        create_customer(session, CustomerCreate(name="Nobody Yet"), "test")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def client(workspace: Database) -> Iterator[TestClient]:
    with TestClient(create_app(workspace.settings, workspace)) as web:
        token = csrf_of(web.get("/login").text)
        signed_in = web.post(
            "/login",
            data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert signed_in.status_code == 200
        yield web


def _customers_worth_seeing(database: Database) -> dict[str, int]:
    """A customer for each thing a customer page can show."""
    with database.read_session() as session:
        reasons = [(s.customer_id, s.reasons or {}) for s in session.scalars(select(CustomerScore))]
        first = session.scalars
        found = {
            "subscription reasons": next((c for c, r in reasons if "subscription" in r), None),
            "cluster reasons": next((c for c, r in reasons if "cluster" in r), None),
            "ticket": first(select(Ticket.customer_id)).first(),
            "interaction": first(select(Interaction.customer_id)).first(),
            "review": first(select(Review.customer_id)).first(),
            "loyalty ledger": first(select(LedgerEntry.customer_id)).first(),
            "holdout": first(
                select(LoyaltyAccount.customer_id).where(LoyaltyAccount.group == "holdout")
            ).first(),
            "no scores": next(
                (
                    c
                    for c, name in session.execute(select(Customer.id, Customer.name))
                    if name == "Nobody Yet"
                ),
                None,
            ),
        }
    missing = [what for what, customer in found.items() if customer is None]
    assert missing == [], f"the demo has no customer with {missing}"
    return {what: int(customer) for what, customer in found.items() if customer is not None}


def _page_routes() -> list[APIRoute]:
    """The routes of every page module of soloist.web (each has a module-level ``router``)."""
    routes = []
    for module in pkgutil.iter_modules(soloist.web.__path__):
        router = getattr(importlib.import_module(f"soloist.web.{module.name}"), "router", None)
        if isinstance(router, APIRouter):
            routes += [r for r in router.routes if isinstance(r, APIRoute)]
    return [r for r in routes if r.path not in NOT_PAGES]


#: GET routes of soloist.web that answer no page in the reader's language: a download, and the
#: API reference (Swagger UI's own English).
NOT_PAGES = frozenset({"/customers/{customer_id}/export", "/docs"})


def _campaigns_worth_seeing(database: Database) -> list[int]:
    """A campaign in each state the demo has (sent ones with results, a draft)."""
    with database.read_session() as session:
        rows = session.execute(select(Campaign.status, Campaign.id).order_by(Campaign.id)).all()
    found = dict(rows)  # status → the newest campaign in it
    assert {"sent", "draft"} <= set(found), f"the demo has campaigns {sorted(found)}"
    return sorted(found.values())


def _journeys_worth_seeing(database: Database) -> list[int]:
    """The demo's journeys, or one made here when the demo has none."""
    with database.read_session() as session:
        found = [journey.id for journey in list_journeys(session)]
    if found:
        return found
    with database.session() as session:
        journey = create_journey(
            session, name="Review request", trigger="order", actor="test",
            subject="How are the beans?", body="Tell us, {{ customer.first_name }}.",
        )  # fmt: skip
        return [journey.id]


def _tickets_worth_seeing(database: Database) -> list[int]:
    """A ticket in each status the demo has."""
    with database.read_session() as session:
        rows = session.execute(select(Ticket.status, Ticket.id).order_by(Ticket.id)).all()
    found = dict(rows)  # status → the newest ticket in it
    assert found, "the demo has no tickets"
    return sorted(found.values())


def _sales_worth_seeing(database: Database) -> dict[str, list[int]]:
    """A deal in each stage the demo has, and three of the owner's own tasks (a task a rule made
    carries the rule's English notes, which are stored text, not the page's words)."""
    with database.read_session() as session:
        deals = dict(session.execute(select(Deal.stage, Deal.id).order_by(Deal.id)).all())
        tasks = session.scalars(
            select(Task.id).where(Task.automation_key.is_(None)).order_by(Task.id)
        ).all()
    assert deals, "the demo has no deals"
    assert tasks, "the demo has no tasks"
    return {"deal_id": sorted(deals.values()), "task_id": list(tasks[:3])}


def _page_paths(
    customers: dict[str, int],
    campaigns: list[int] | None = None,
    journeys: list[int] | None = None,
    tickets: list[int] | None = None,
    sales: dict[str, list[int]] | None = None,
) -> list[str]:
    """Every GET page route, with each interesting customer for the ones that take an id."""
    paths: list[str] = []
    for route in _page_routes():
        if "GET" not in (route.methods or ()):
            continue
        params = set(re.findall(r"{(\w+)}", route.path))
        if params == {"token"}:
            continue  # the links in campaign messages: tests/web/test_mail_links.py
        if params == {"campaign_id"}:
            paths += [route.path.format(campaign_id=c) for c in campaigns or []]
            continue
        if params == {"journey_id"}:
            paths += [route.path.format(journey_id=j) for j in journeys or []]
            continue
        if params == {"ticket_id"}:
            paths += [route.path.format(ticket_id=t) for t in tickets or []]
            continue
        if len(params) == 1 and params <= {"deal_id", "task_id"}:
            (name,) = params
            paths += [route.path.format(**{name: i}) for i in (sales or {}).get(name, [])]
            continue
        assert params <= {"customer_id"}, f"{route.path}: add its parameters to this test"
        if params:
            paths += [route.path.format(customer_id=c) for c in sorted(set(customers.values()))]
        else:
            paths.append(route.path)
    assert {"/", "/customers", "/segments", "/loyalty", "/import", "/settings"} <= set(paths)
    return paths


def _english_msgids() -> list[tuple[str, re.Pattern[str], bool]]:
    """(msgid, how it would look on a page, whole text only) for every message with a
    Chinese translation that differs from it (names such as "Soloist" are kept as they are)."""
    chinese = Translator("zh_Hans")
    found = []
    for (context, msgid), forms in extracted_messages().items():
        translated = (
            chinese.ngettext(forms[0], forms[1], 2)
            if len(forms) > 1
            else chinese.gettext(Contextual(context, msgid) if context else msgid)
        )
        if translated == msgid:
            continue
        for form in forms:
            words = re.findall(r"[A-Za-z]+", re.sub(r"%\(\w+\)s", "", form))
            literal = re.escape(form.replace("%%", "%"))
            pattern = re.sub(r"%\\\(\w+\\\)s", ".+?", literal)
            if len(words) >= 2:
                found.append((form, re.compile(pattern), False))
            elif "%(" not in form:
                found.append((form, re.compile(pattern), True))
    return found


def _untranslated(texts: list[str]) -> list[str]:
    shown = []
    for msgid, pattern, whole in _english_msgids():
        for text in texts:
            if pattern.fullmatch(text) if whole else pattern.search(text):
                shown.append(f"{msgid!r} in {text!r}")
    return shown


def _check(html: str, language: str) -> list[str]:
    problems = [f"raw key or dict: {t!r}" for t in raw_keys_and_reprs(visible_texts(html))]
    if "{&#39;" in html or "{'" in html:
        problems.append("a dict repr in the HTML")
    if language == "zh_Hans":
        problems += _untranslated(visible_texts(html, english_details=False))
    return problems


def _shown(problems: dict[str, list[str]]) -> str:
    """The problems page by page, one a line (empty when there are none)."""
    return "\n".join(f"{page}: {problem}" for page, found in problems.items() for problem in found)


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_page_speaks_one_language_without_raw_keys(
    client: TestClient, workspace: Database, language: str
) -> None:
    headers = {"Accept-Language": LANGUAGES[language]}
    customers = _customers_worth_seeing(workspace)
    problems: dict[str, list[str]] = {}
    journeys = _journeys_worth_seeing(workspace)
    tickets = _tickets_worth_seeing(workspace)
    sales = _sales_worth_seeing(workspace)
    pages = _page_paths(customers, _campaigns_worth_seeing(workspace), journeys, tickets, sales)
    pages += [f"/journeys/{j}?customer={c}" for j in journeys[:1] for c in customers.values()]
    pages += ["/customers?sort=risk&segment=champions", "/customers?q=zzzz-nobody"]
    for path in pages:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["content-language"] == LANGUAGE_TAGS[language]
        if found := _check(response.text, language):
            problems[path] = found
    partial = client.get("/customers?page=2", headers={**headers, "HX-Request": "true"})
    problems["/customers (HTMX)"] = _check(partial.text, language)
    if shown := _shown(problems):
        pytest.fail(shown, pytrace=False)


@pytest.mark.slow
@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_import_wizard_and_error_pages_speak_one_language(
    client: TestClient, tmp_path: Path, language: str
) -> None:
    headers = {"Accept-Language": LANGUAGES[language]}
    token = csrf_of(client.get("/import", headers=headers).text)
    upload = tmp_path / "orders.csv"
    upload.write_text(
        "order_id,email,name,date,total,currency\n"
        f"P-{language}-1,page.one@example.com,Page One,2026-06-01,19.90,USD\n"
        f"P-{language}-2,page.two@example.com,Page Two,not a date,25.00,USD\n",
        encoding="utf-8",
    )
    with upload.open("rb") as handle:
        preview = client.post(
            "/import/preview",
            data={"kind": "orders", "csrf_token": token},
            files={"file": ("orders.csv", handle, "text/csv")},
            headers=headers,
        )
    done = client.post(
        "/import/confirm", data={"skip_invalid": "true", "csrf_token": token}, headers=headers
    )
    errors = {
        "no such customer": client.get("/customers/999999", headers=headers),
        "no such page": client.get("/no-such-page", headers=headers),
        "forged form": client.post("/settings/tokens", data={"csrf_token": "x"}, headers=headers),
    }
    assert (preview.status_code, done.status_code) == (200, 200)
    assert [e.status_code for e in errors.values()] == [404, 404, 403]
    problems = {
        name: _check(page.text, language)
        for name, page in {"preview": preview, "done": done, **errors}.items()
    }
    if shown := _shown(problems):
        pytest.fail(shown, pytrace=False)


@pytest.mark.slow
def test_the_chinese_customer_page_gives_its_reasons_in_chinese(
    client: TestClient, workspace: Database
) -> None:
    customer = _customers_worth_seeing(workspace)["subscription reasons"]
    page = client.get(f"/customers/{customer}", headers={"Accept-Language": LANGUAGES["zh_Hans"]})
    why = page.text.split('id="reasons"')[1].split("</section>")[0]
    texts = visible_texts(why)
    for group in ("流失风险", "订阅取消风险", "分群", "聚类分群"):
        assert group in texts
    # product categories ("mostly Workshops") are the shop's own names, capitalised
    assert [t for t in texts if re.search(r"\b[a-z]{3,}\b", t)] == []
    assert any(t.startswith("RFM ") and "最近一次下单在" in t for t in texts)


@pytest.mark.slow
def test_an_error_page_in_chinese_says_what_happened_and_keeps_the_english_detail(
    client: TestClient,
) -> None:
    page = client.get("/customers/999999", headers={"Accept-Language": LANGUAGES["zh_Hans"]})
    assert page.status_code == 404
    assert "没有这个页面或记录。" in page.text
    assert '<span lang="en">' in page.text
    english = client.get("/customers/999999", headers={"Accept-Language": LANGUAGES["en"]})
    assert "Details (in English)" not in english.text


@pytest.mark.slow
def test_the_chinese_loyalty_page_words_what_the_rules_wrote_in_the_ledger(
    client: TestClient, workspace: Database
) -> None:
    customer = _customers_worth_seeing(workspace)["loyalty ledger"]
    page = client.get(
        f"/customers/{customer}/loyalty", headers={"Accept-Language": LANGUAGES["zh_Hans"]}
    )
    ledger = page.text.split('id="ledger"')[1].split("</table>")[0]
    texts = visible_texts(ledger)
    assert len(texts) > 10
    assert [t for t in texts if re.search(r"\b[a-z]{3,}\b", t)] == []
