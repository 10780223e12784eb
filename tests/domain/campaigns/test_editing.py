"""What the campaign editor needs of the domain: a preview of text not saved yet, the audience
of a segment before there is a campaign, removing a language's version, the body as written,
and the list of campaigns with their figures."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.domain.campaigns.builders import ACTOR, BODY_EN, add_audience

from soloist.domain.campaigns import (
    contents_of,
    count_audience,
    count_segment_audience,
    create_campaign,
    find_segment,
    get_campaign,
    preview_draft,
    remove_content,
    set_content,
    start_sending,
    summarise_campaigns,
    update_campaign,
    written_body,
)
from soloist.errors import TemplateError, ValidationError
from soloist.storage.database import Database

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _draft(database: Database, body: str = BODY_EN) -> int:
    with database.session() as session:
        return create_campaign(
            session, name="Beans", segment="everyone", subject="Hi", body=body, actor=ACTOR
        ).id


def test_a_draft_is_previewed_for_a_customer_without_being_saved(database: Database) -> None:
    add_audience(database, 2, chinese_every=2)
    with database.read_session() as session:
        shown = preview_draft(
            session,
            database.settings,
            database.keyring,
            NOW,
            subject="{{ customer.name }}，您好",
            body="您有 {{ customer.points }} 积分。\n\n{{ unsubscribe_url }}",
            language="zh",
            customer="c0@example.net",
        )
        sample = preview_draft(
            session, database.settings, database.keyring, NOW, subject="Hi", body="<p>Yo</p>"
        )
    assert shown["subject"] == "客户0，您好"
    assert shown["language"] == "zh-CN"
    assert shown["html"].startswith("<p>您有 0 积分。</p>")
    assert "/u/" in shown["text"]  # the unsubscribe link of a test: it changes nothing
    assert sample["customer"]["name"] == "Ada Lovelace"
    assert sample["html"] == "<p>Yo</p>"


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("One\n\nTwo {{ customer.name }", 3),
        ("One\r\nTwo\r\n{{ customer.name }", 3),  # a browser's form ends lines in CRLF
        ("<p>One</p>\n<p>{{ customer.nmae }}</p>", 2),
    ],
)
def test_a_preview_error_names_the_line_as_typed(
    sqlite_database: Database, body: str, line: int
) -> None:
    with sqlite_database.read_session() as session, pytest.raises(TemplateError) as raised:
        preview_draft(
            session, sqlite_database.settings, sqlite_database.keyring, NOW, subject="Hi", body=body
        )
    assert raised.value.details["line"] == line


def test_the_audience_of_a_segment_is_counted_before_there_is_a_campaign(
    database: Database,
) -> None:
    add_audience(database, 6, consent_every=3)
    campaign_id = _draft(database)
    with database.read_session() as session:
        segment = find_segment(session, "everyone")
        counted = count_segment_audience(session, segment.id, "email", "USD")
        assert counted == count_audience(session, get_campaign(session, campaign_id), "USD")
    assert counted == {"segment": 6, "reachable": 2, "no_consent": 4}


def test_removing_a_language_keeps_the_last_one_and_moves_the_default(
    database: Database,
) -> None:
    add_audience(database, 1)
    campaign_id = _draft(database)
    with database.session() as session:
        set_content(session, campaign_id, "zh-CN", "你好", "您好！", ACTOR)
        update_campaign(session, campaign_id, ACTOR, channel="sms")
        remove_content(session, campaign_id, "en", ACTOR)
        campaign = get_campaign(session, campaign_id)
        assert (campaign.default_language, campaign.channel) == ("zh-CN", "sms")
        assert sorted(contents_of(session, campaign_id)) == ["zh-CN"]
        with pytest.raises(ValidationError):
            remove_content(session, campaign_id, "zh-CN", ACTOR)
        with pytest.raises(ValidationError):
            update_campaign(session, campaign_id, ACTOR, channel="pigeon")


def test_the_body_comes_back_as_it_was_written(sqlite_database: Database) -> None:
    add_audience(sqlite_database, 1)
    plain = "Hello {{ customer.name }},\n\nnew beans.\nTry them."
    campaign_id = _draft(sqlite_database, body=plain)
    with sqlite_database.session() as session:
        set_content(session, campaign_id, "zh-CN", "你好", BODY_EN, ACTOR)
        contents = contents_of(session, campaign_id)
        assert written_body(contents["en"]) == plain
        assert written_body(contents["zh-CN"]) == BODY_EN


def test_the_list_of_campaigns_has_figures_once_sending_started(
    sqlite_database: Database,
) -> None:
    add_audience(sqlite_database, 2)
    first = _draft(sqlite_database)
    second = _draft(sqlite_database)
    with sqlite_database.session() as session:
        start_sending(session, second, ACTOR, "USD", "example.net", NOW)
    with sqlite_database.read_session() as session:
        rows = summarise_campaigns(session, "USD")
    assert [r["id"] for r in rows] == [second, first]
    assert (rows[0]["status"], rows[0]["recipients"], rows[0]["segment"]) == (
        "sending",
        2,
        "everyone",
    )
    assert (rows[1]["started"], rows[1]["recipients"], rows[1]["revenue"]) == (False, 0, None)
