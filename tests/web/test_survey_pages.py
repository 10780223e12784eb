"""The public survey page (/s/{token}): a plain form that works on a phone without JavaScript
and under the app's CSP, in the customer's language, a thank-you page, and no answer from a
browser signed in to Soloist. (Tampering, expiry and double answers on every database:
tests/api/test_surveys_api.py and tests/domain/test_survey_links.py.)"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.surveys import create_survey_link
from soloist.storage.database import Database
from soloist.storage.models import SurveyLink, SurveyResponse, Ticket
from soloist.web.headers import CONTENT_SECURITY_POLICY
from soloist.web.i18n import Translator
from tests.web.conftest import sign_in, visible_texts

EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
CHINESE = Translator("zh_Hans")


def _survey(database: Database, kind: str = "nps", language: str = "en", **options: Any) -> str:
    """The path of a new survey link for a new customer."""
    with database.session() as session:
        customer = create_customer(
            session, CustomerCreate(name="Cleo", email=None, language=language), "test"
        )
        if options.pop("ticket", False):
            ticket = Ticket(customer_id=customer.id, subject="Grinder too loud", status="resolved")
            session.add(ticket)
            session.flush()
            options["ticket_id"] = ticket.id
        _, url = create_survey_link(
            session,
            database.keyring,
            database.settings.public_url,
            customer_id=customer.id,
            kind=kind,
            actor="test",
            **options,
        )
    return urlsplit(url).path


def _answers(database: Database) -> list[tuple[int, str | None]]:
    with database.read_session() as session:
        return [(r.score, r.comment) for r in session.scalars(select(SurveyResponse))]


def test_the_page_is_a_plain_form_with_big_score_buttons_and_no_staff_navigation(
    web: TestClient, sqlite_database: Database
) -> None:
    page = web.get(_survey(sqlite_database, "nps"), headers=EN)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers
    html = page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html
    assert not re.search(r"\son[a-z]+=", html)
    assert re.search(r'<form method="post" id="survey-form">', html)  # posts to its own URL
    values = re.findall(r'<input type="radio" name="score" id="score-(\d+)" value="\1"', html)
    assert values == [str(n) for n in range(11)]
    texts = visible_texts(html)
    assert "How likely are you to recommend 127.0.0.1:8000 to a friend or colleague?" in texts
    assert (texts[texts.index("10") + 1], texts[texts.index("10") + 2]) == (
        "Not at all likely",
        "Extremely likely",
    )
    assert 'name="csrf_token"' not in html
    assert 'href="/customers"' not in html
    assert "Sign out" not in html


@pytest.mark.parametrize(("kind", "low", "high"), [("csat", 1, 5), ("ces", 1, 7)])
def test_each_kind_asks_its_question_on_its_scale(
    web: TestClient, sqlite_database: Database, kind: str, low: int, high: int
) -> None:
    html = web.get(_survey(sqlite_database, kind, ticket=True), headers=EN).text
    values = re.findall(r'name="score" id="score-(\d+)"', html)
    assert values == [str(n) for n in range(low, high + 1)]
    question = {
        "csat": "How satisfied were you with the help you got with “Grinder too loud”?",
        "ces": "How easy was it to get your issue resolved?",
    }[kind]
    assert question in visible_texts(html)


def test_an_answer_is_thanked_and_the_page_then_says_it_was_answered(
    web: TestClient, sqlite_database: Database
) -> None:
    path = _survey(sqlite_database, "csat")
    done = web.post(path, data={"score": "4", "comment": "  Fast reply.\r\nThanks  "})
    assert done.status_code == 200
    assert "Thank you! Your answer has been recorded." in visible_texts(done.text)
    assert _answers(sqlite_database) == [(4, "Fast reply.\nThanks")]
    again = web.get(path)
    assert again.status_code == 200
    assert "This survey has been answered already." in visible_texts(again.text)
    assert 'name="score"' not in again.text


def test_a_score_off_the_scale_shows_the_form_again_with_what_was_typed(
    web: TestClient, sqlite_database: Database
) -> None:
    path = _survey(sqlite_database, "csat")
    wrong = web.post(path, data={"score": "9", "comment": "Keep this"})
    assert wrong.status_code == 422
    assert "Choose a score from 1 to 5." in visible_texts(wrong.text)
    assert ">Keep this</textarea>" in wrong.text
    missing = web.post(path, data={"comment": "No score"})
    assert missing.status_code == 422
    assert _answers(sqlite_database) == []


def test_a_json_answer_is_taken_like_a_form(web: TestClient, sqlite_database: Database) -> None:
    path = _survey(sqlite_database, "nps")
    assert web.post(path, json={"score": 10, "comment": "Great"}).status_code == 200
    assert web.post(path, json={"score": 0}).status_code == 409
    assert _answers(sqlite_database) == [(10, "Great")]


def test_within_the_edit_window_the_page_shows_the_answer_to_change(
    web: TestClient, sqlite_database: Database
) -> None:
    path = _survey(sqlite_database, "nps", edit_minutes=60)
    done = web.post(path, data={"score": "7"})
    assert "You can change your answer until" in done.text
    page = web.get(path)
    assert re.search(r'id="score-7" value="7" required checked', page.text)
    assert web.post(path, data={"score": "8"}).status_code == 200
    assert _answers(sqlite_database) == [(8, None)]


@pytest.mark.parametrize("email", ["staff@example.com", "owner@example.com", "viewer@example.com"])
def test_a_browser_signed_in_to_soloist_cannot_answer(
    web: TestClient, sqlite_database: Database, email: str
) -> None:
    path = _survey(sqlite_database, "csat")
    sign_in(web, email)
    page = web.get(path, headers=EN)
    assert page.status_code == 200
    assert "Staff cannot answer a survey for a customer." in visible_texts(page.text)
    assert 'name="score"' not in page.text
    refused = web.post(path, data={"score": "5"})
    assert refused.status_code == 403
    assert _answers(sqlite_database) == []
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count(SurveyLink.submitted_at))) == 0


def test_a_request_with_credentials_cannot_answer(
    web: TestClient, sqlite_database: Database
) -> None:
    path = _survey(sqlite_database, "csat")
    refused = web.post(path, data={"score": "5"}, headers={"Authorization": "Bearer sl_x"})
    assert refused.status_code == 403
    assert _answers(sqlite_database) == []


def test_the_page_speaks_the_customers_chinese_whatever_the_browser_says(
    web: TestClient, sqlite_database: Database
) -> None:
    path = _survey(sqlite_database, "nps", language="zh-CN")
    page = web.get(path, headers=EN)
    assert page.headers["content-language"] == "zh-Hans"
    assert '<html lang="zh-Hans">' in page.text
    texts = visible_texts(page.text)
    question = "How likely are you to recommend %(business)s to a friend or colleague?"
    assert CHINESE.gettext(question) != question  # the catalogue has it
    assert CHINESE.gettext(question) % {"business": "127.0.0.1:8000"} in texts
    assert CHINESE.gettext("Not at all likely") in texts
    assert CHINESE.gettext("Send my answer") in texts
    done = web.post(path, data={"score": "8"}, headers=EN)
    assert CHINESE.gettext("Thank you! Your answer has been recorded.") in visible_texts(done.text)
    with sqlite_database.read_session() as session:
        assert session.scalar(select(SurveyResponse.language)) == "zh-Hans"


def test_a_link_that_does_not_work_says_so_without_detail(
    web: TestClient, sqlite_database: Database
) -> None:
    for message in ("This survey link has expired.", "This survey link is not valid."):
        assert CHINESE.gettext(message) != message  # the catalogue has it
    path = _survey(sqlite_database, "csat", language="zh-CN")
    with sqlite_database.session() as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.execute(update(SurveyLink).values(expires_at=past))
    expired = web.get(path, headers=EN)  # the customer's language, not the browser's
    assert expired.status_code == 410
    assert visible_texts(expired.text)[-1] == CHINESE.gettext("This survey link has expired.")
    invalid = web.get(path[:-3] + "AAA", headers=ZH)  # no customer known: the browser's
    assert invalid.status_code == 404
    assert visible_texts(invalid.text)[-1] == CHINESE.gettext("This survey link is not valid.")
    english = web.get("/s/1.nothing.here", headers=EN)
    assert english.status_code == 404
    assert visible_texts(english.text)[-1] == "This survey link is not valid."
