"""The pages behind the links in campaign messages (/u, /c, /o): no sign-in, no CSRF token, no
cookie, and the recipient's language. (What they do to consent, clicks and opens, with real
messages over SMTP on every database: tests/api/test_campaigns.py.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.campaigns import (
    OPEN,
    TEST_MESSAGE,
    UNSUBSCRIBE,
    LinkSigner,
    create_campaign,
    set_content,
    start_sending,
)
from soloist.domain.customers import current_consents
from soloist.storage.database import Database
from soloist.storage.models import Message
from soloist.web.i18n import Translator
from tests.domain.campaigns.builders import ACTOR, BODY_EN, BODY_ZH, add_audience
from tests.web.conftest import raw_keys_and_reprs, sign_in, visible_texts

PUBLIC_URL = "https://crm.coffee.example"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def frozen(sqlite_database: Database) -> Database:
    """A campaign to one Chinese and one English customer, its list frozen (nothing sent)."""
    database = sqlite_database
    database.settings = Settings(
        **{
            **database.settings.model_dump(),
            "public_url": PUBLIC_URL,
            "mail_from": "Ada's Coffee <ada@coffee.example>",
        }
    )
    add_audience(database, 2, chinese_every=2)
    with database.session() as session:
        campaign = create_campaign(
            session, name="Beans", segment="everyone", subject="Hi", body=BODY_EN, actor=ACTOR
        )
        set_content(session, campaign.id, "zh-CN", "你好", BODY_ZH, ACTOR)
        now = dt.datetime.now(dt.UTC)
        start_sending(session, campaign.id, ACTOR, "USD", "coffee.example", now)
    return database


@pytest.fixture
def web(frozen: Database) -> Iterator[TestClient]:
    with TestClient(create_app(frozen.settings, frozen)) as client:
        yield client


def _tokens(database: Database) -> dict[str, tuple[int, str]]:
    """Message language → (customer id, unsubscribe path)."""
    signer = LinkSigner(database.keyring.link_key, PUBLIC_URL)
    with database.read_session() as session:
        rows = session.execute(select(Message.id, Message.customer_id, Message.language)).all()
    return {
        str(language): (customer, "/u/" + signer.token(UNSUBSCRIBE, row))
        for row, customer, language in rows
    }


def test_the_unsubscribe_page_speaks_the_recipients_language(
    web: TestClient, frozen: Database
) -> None:
    chinese = Translator("zh_Hans")
    for language, browser, tag, title in (
        ("zh-CN", EN, "zh-Hans", chinese.gettext("Unsubscribe")),
        ("en", ZH, "en", "Unsubscribe"),
    ):
        _, path = _tokens(frozen)[language]
        page = web.get(path, headers=browser)
        assert page.status_code == 200
        assert page.headers["content-language"] == tag
        assert f'<html lang="{tag}">' in page.text
        assert f"<h1>{title}</h1>" in page.text
        assert "Ada&#39;s Coffee" in page.text  # the From's name
        assert raw_keys_and_reprs(visible_texts(page.text)) == []
        assert "set-cookie" not in page.headers
        assert "csrf_token" not in page.text


def test_a_test_message_and_a_bad_link_answer_in_the_browsers_language(web: TestClient) -> None:
    signer = LinkSigner(b"\x00" * 32, PUBLIC_URL)
    forged = "/u/" + signer.token(UNSUBSCRIBE, 1)
    for path, status in (("/u/" + _test_token(web), 200), (forged, 404), ("/c/abc", 404)):
        for browser, tag in ((ZH, "zh-Hans"), (EN, "en")):
            page = web.get(path, headers=browser)
            assert (page.status_code, page.headers["content-language"]) == (status, tag), path
            assert raw_keys_and_reprs(visible_texts(page.text)) == []


def _test_token(web: TestClient) -> str:
    database: Database = web.app.state.database  # type: ignore[attr-defined]
    return LinkSigner(database.keyring.link_key, PUBLIC_URL).token(UNSUBSCRIBE, TEST_MESSAGE)


def test_a_signed_in_owner_can_unsubscribe_without_a_csrf_token(
    web: TestClient, frozen: Database
) -> None:
    from soloist.domain.users import add_user
    from tests.web.conftest import PASSWORD

    with frozen.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
    sign_in(web)  # the session cookie rides along, as it would in the owner's own browser
    customer, path = _tokens(frozen)["en"]
    done = web.post(path, data={"confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 200
    with frozen.read_session() as session:
        assert current_consents(session, customer)["email"] is False


def test_the_pixel_of_a_test_message_is_served_and_records_nothing(
    web: TestClient, frozen: Database
) -> None:
    signer = LinkSigner(frozen.keyring.link_key, PUBLIC_URL)
    pixel = "/o/" + signer.token(OPEN, TEST_MESSAGE) + ".png"
    answer = web.get(pixel)
    assert (answer.status_code, answer.headers["content-type"]) == (200, "image/png")
    with frozen.read_session() as session:
        assert session.scalars(select(Message.opened_at)).all() == [None, None]
