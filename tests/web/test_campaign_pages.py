"""The campaign pages: the list, the editor with its live preview, the actions, the results,
and a customer's campaign messages on their page."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.campaigns import (
    contents_of,
    get_campaign,
    record_click,
    send_campaign,
)
from soloist.domain.users import add_user
from soloist.storage.database import Database
from soloist.storage.models import CampaignLink, Message
from tests.domain.campaigns.builders import BODY_EN, BODY_ZH, add_audience
from tests.mailserver import SmtpServer
from tests.web.conftest import PASSWORD, raw_keys_and_reprs, sign_in, visible_texts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_web(sqlite_database: Database, smtp_server: SmtpServer) -> Iterator[TestClient]:
    """The ``web`` client on a workspace whose e-mail goes to a loopback SMTP server."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    settings = Settings(**{**sqlite_database.settings.model_dump(), **values})
    sqlite_database.settings = settings
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        add_user(session, "viewer@example.com", "readonly", PASSWORD, "test")
    with TestClient(create_app(settings, sqlite_database)) as client:
        yield client


def _form(token: str, **values: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "name": "Spring beans",
        "segment": "1",
        "channel": "email",
        "attribution_days": "7",
        "default_language": "en",
        "subject_en": "{{ customer.first_name }}, new beans are in",
        "body_en": BODY_EN,
        "subject_zh": "{{ customer.name }}，新豆到了",
        "body_zh": BODY_ZH,
        "tab": "en",
    }
    form.update(values)
    return form


def _create(client: TestClient, token: str, **values: str) -> int:
    response = client.post("/campaigns/new", data=_form(token, **values), follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    found = re.fullmatch(r"/campaigns/(\d+)\?done=created", response.headers["location"])
    assert found
    return int(found.group(1))


def test_campaign_pages_need_a_sign_in(web: TestClient) -> None:
    for path in ("/campaigns", "/campaigns/new", "/campaigns/1"):
        response = web.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_the_list_offers_a_new_campaign_and_lists_them(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 3)
    token = sign_in(web)
    empty = web.get("/campaigns")
    assert empty.status_code == 200
    assert 'id="no-campaigns"' in empty.text
    assert 'href="/campaigns/new"' in empty.text
    assert 'href="/campaigns"' in web.get("/").text  # in the navigation
    campaign_id = _create(web, token)
    listed = web.get("/campaigns")
    row = listed.text.split('id="campaigns"')[1]
    assert f'href="/campaigns/{campaign_id}"' in row
    assert "Spring beans" in row
    assert "draft" in row
    assert "everyone" in row  # the segment


def test_create_through_the_form_stores_both_languages(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 4, consent_every=2)
    token = sign_in(web)
    new = web.get("/campaigns/new")
    assert new.status_code == 200
    assert 'name="subject_zh"' in new.text
    assert "customer.recommendation.name" in new.text  # the fields beside the body
    assert "everyone" in new.text  # the saved segment, with its size
    forged = web.post("/campaigns/new", data=_form("not the token"))
    assert forged.status_code == 403

    campaign_id = _create(web, token, body_en="Hello {{ customer.name }},\n\nnew beans.")
    page = web.get(f"/campaigns/{campaign_id}?done=created")
    assert "The campaign was created as a draft." in page.text
    assert 'id="audience-reachable">2 customers will receive it' in page.text
    with sqlite_database.read_session() as session:
        contents = contents_of(session, campaign_id)
        campaign = get_campaign(session, campaign_id)
        assert sorted(contents) == ["en", "zh-CN"]
        assert contents["en"].text_body == "Hello {{ customer.name }},\n\nnew beans."
        assert contents["zh-CN"].subject == "{{ customer.name }}，新豆到了"
        assert (campaign.status, campaign.channel, campaign.default_language) == (
            "draft",
            "email",
            "en",
        )
    # the plain-text body comes back as it was written, not as the HTML made from it
    assert "Hello {{ customer.name }},\n\nnew beans.</textarea>" in page.text


def test_edit_saves_changes_and_an_emptied_language_is_removed(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 2)
    token = sign_in(web)
    campaign_id = _create(web, token)
    saved = web.post(
        f"/campaigns/{campaign_id}",
        data=_form(token, name="Autumn beans", subject_en="", body_en="", attribution_days="3"),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/campaigns/{campaign_id}?done=saved"
    with sqlite_database.read_session() as session:
        campaign = get_campaign(session, campaign_id)
        assert (campaign.name, campaign.attribution_days) == ("Autumn beans", 3)
        assert sorted(contents_of(session, campaign_id)) == ["zh-CN"]
        assert campaign.default_language == "zh-CN"
    nothing = web.post(
        f"/campaigns/{campaign_id}",
        data=_form(token, subject_en="", body_en="", subject_zh="", body_zh=""),
    )
    assert nothing.status_code == 422
    assert "Write a subject and a body in at least one language." in nothing.text


def test_a_template_error_on_save_names_its_line_and_keeps_what_was_typed(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 2)
    token = sign_in(web)
    campaign_id = _create(web, token)
    broken = "<p>Hello</p>\n<p>{% if customer.points %}points</p>"
    page = web.post(f"/campaigns/{campaign_id}", data=_form(token, body_en=broken))
    assert page.status_code == 422
    error = page.text.split('id="campaign-error"')[1].split("</div>")[0]
    assert "The body has an error on line 2." in error
    assert "endif" in error  # Jinja's own words, as the English detail
    assert "{% if customer.points %}points&lt;/p&gt;</textarea>" in page.text.replace(
        "&lt;p&gt;Hello&lt;/p&gt;\n&lt;p&gt;", ""
    )
    with sqlite_database.read_session() as session:
        assert "{% if" not in (contents_of(session, campaign_id)["en"].html_body or "")


def test_the_preview_renders_the_draft_in_each_language_for_a_chosen_customer(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 2)
    token = sign_in(web)
    english = web.post(
        "/campaigns/preview",
        data={
            "csrf_token": token,
            "language": "en",
            "subject": "Hi {{ customer.first_name }}",
            "body": "<p>Hello {{ customer.name }}, <b>new</b> beans.</p>",
        },
    )
    assert english.status_code == 200
    assert 'id="preview-subject">Hi Ada<' in english.text  # the sample customer
    frame = re.search(r'<iframe id="preview-frame" sandbox="" [^>]*srcdoc="([^"]*)"', english.text)
    assert frame, english.text
    assert "&lt;b&gt;new&lt;/b&gt;" in frame.group(1)  # the message's HTML, escaped into srcdoc
    assert "Hello Ada Lovelace" in frame.group(1)

    chinese = web.post(
        "/campaigns/preview",
        data={
            "csrf_token": token,
            "language": "zh-CN",
            "subject": "{{ customer.name }}，新豆到了",
            "body": "您有 {{ customer.points }} 积分。",
            "customer": "c1@example.net",
        },
        headers=CHINESE,
    )
    assert chinese.status_code == 200
    assert 'id="preview-subject">Cleo Number1，新豆到了<' in chinese.text
    assert 'data-language="zh-CN"' in chinese.text
    assert "您有 0 积分。" in chinese.text
    assert "主题" in chinese.text  # the page's own words in Chinese

    nobody = web.post(
        "/campaigns/preview",
        data={"csrf_token": token, "subject": "x", "body": "y", "customer": "nobody@x.org"},
    )
    assert nobody.status_code == 404
    assert 'id="campaign-error"' in nobody.text
    assert web.post("/campaigns/preview", data={"subject": "x", "body": "y"}).status_code == 403


def test_the_preview_reports_a_template_error_with_its_line(web: TestClient) -> None:
    token = sign_in(web)
    syntax = web.post(
        "/campaigns/preview",
        data={"csrf_token": token, "subject": "Hi", "body": "Line one\n\nLine {{ customer.name }"},
    )
    assert syntax.status_code == 422
    assert "The body has an error on line 3." in syntax.text
    crlf = web.post(  # a browser sends a textarea's lines with CRLF
        "/campaigns/preview",
        data={"csrf_token": token, "subject": "Hi", "body": "One\r\ntwo\r\n{{ customer.name }"},
    )
    assert "The body has an error on line 3." in crlf.text
    unknown = web.post(
        "/campaigns/preview",
        data={"csrf_token": token, "subject": "Hi {{ customer.nmae }}", "body": "Hello"},
        headers=CHINESE,
    )
    assert unknown.status_code == 422
    assert "主题第 1 行有错误。" in unknown.text
    assert "nmae" in unknown.text.split('lang="en"')[1]  # the English detail
    empty = web.post("/campaigns/preview", data={"csrf_token": token, "subject": "", "body": ""})
    assert empty.status_code == 200
    assert "Write a subject and a body" in empty.text


def test_send_now_hands_the_campaign_to_the_worker(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(sqlite_database, 6, consent_every=2)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token)
    page = mail_web.get(f"/campaigns/{campaign_id}")
    dialog = page.text.split('id="send-dialog"')[1].split("</dialog>")[0]
    assert "3 customers will receive this campaign now." in dialog
    sent = mail_web.post(
        f"/campaigns/{campaign_id}/send", data={"csrf_token": token}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/campaigns/{campaign_id}?done=sending"
    with sqlite_database.read_session() as session:
        assert get_campaign(session, campaign_id).status == "sending"
        assert len(session.scalars(select(Message)).all()) == 6  # the list is frozen
    assert smtp_server.handler.messages() == []  # the worker sends, not the page
    sending = mail_web.get(f"/campaigns/{campaign_id}")
    assert f'hx-get="/campaigns/{campaign_id}/progress?was=sending"' in sending.text
    assert 'id="progress-text">0 of 3 sent' in sending.text
    assert '<fieldset class="plain stack" disabled>' in sending.text  # read-only now
    again = mail_web.post(f"/campaigns/{campaign_id}", data=_form(token))
    assert again.status_code == 409
    assert "This cannot be done while the campaign is sending." in again.text
    paused = mail_web.post(f"/campaigns/{campaign_id}/pause", data={"csrf_token": token})
    assert paused.status_code == 200
    assert "Sending is paused" in paused.text


def test_a_test_send_goes_to_the_signed_in_owner(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(sqlite_database, 2)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token)
    done = mail_web.post(
        f"/campaigns/{campaign_id}/test", data={"csrf_token": token, "language": "zh-CN"}
    )
    assert done.status_code == 200
    assert "A test message was sent to owner@example.com." in done.text
    (received,) = smtp_server.handler.messages()
    assert received.rcpt_tos == ["owner@example.com"]
    assert received.message["Subject"] == "[Test] Ada Lovelace，新豆到了"


def test_without_smtp_send_and_test_send_say_email_is_not_set_up(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 2)
    token = sign_in(web)
    campaign_id = _create(web, token)
    for action in ("send", "test"):
        page = web.post(f"/campaigns/{campaign_id}/{action}", data={"csrf_token": token})
        assert page.status_code == 503
        error = page.text.split('id="campaign-error"')[1].split("</div>")[0]
        assert "SOLOIST_SMTP_HOST" in error
    with sqlite_database.read_session() as session:
        assert get_campaign(session, campaign_id).status == "draft"


def test_schedule_and_unschedule(web: TestClient, sqlite_database: Database) -> None:
    add_audience(sqlite_database, 2)
    token = sign_in(web)
    campaign_id = _create(web, token)
    past = web.post(
        f"/campaigns/{campaign_id}/schedule", data={"csrf_token": token, "at": "2020-01-01T09:00"}
    )
    assert past.status_code == 422
    assert 'id="campaign-error"' in past.text
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    scheduled = web.post(f"/campaigns/{campaign_id}/schedule", data={"csrf_token": token, "at": at})
    assert "The campaign is scheduled." in scheduled.text
    assert 'id="scheduled-for"' in scheduled.text
    with sqlite_database.read_session() as session:
        assert get_campaign(session, campaign_id).status == "scheduled"
    web.post(f"/campaigns/{campaign_id}/unschedule", data={"csrf_token": token})
    cancelled = web.post(f"/campaigns/{campaign_id}/cancel", data={"csrf_token": token})
    assert "The campaign is cancelled" in cancelled.text
    wrong = web.post(f"/campaigns/{campaign_id}/pause", data={"csrf_token": token})
    assert wrong.status_code == 409
    assert "This cannot be done while the campaign is cancelled." in wrong.text


def test_a_read_only_user_sees_campaigns_but_cannot_change_them(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 2)
    campaign_id = _create(web, sign_in(web))
    web.cookies.clear()
    token = sign_in(web, "viewer@example.com")
    listed = web.get("/campaigns")
    assert listed.status_code == 200
    assert 'href="/campaigns/new"' not in listed.text
    page = web.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert 'id="save-campaign"' not in page.text
    assert 'id="campaign-actions"' not in page.text
    assert '<fieldset class="plain stack" disabled>' in page.text
    assert web.get("/campaigns/new").status_code == 403
    for path in ("", "/send", "/test", "/pause", "/cancel", "/schedule"):
        response = web.post(f"/campaigns/{campaign_id}{path}", data=_form(token, name="Mine"))
        assert response.status_code == 403, path
    assert web.post("/campaigns/new", data=_form(token)).status_code == 403
    with sqlite_database.read_session() as session:
        campaign = get_campaign(session, campaign_id)
        assert (campaign.name, campaign.status) == ("Spring beans", "draft")
    # the preview changes nothing, so a reader may use it
    shown = web.post("/campaigns/preview", data={"csrf_token": token, "subject": "a", "body": "b"})
    assert shown.status_code == 200


def test_results_chart_tables_and_the_customer_timeline_after_a_send(
    mail_web: TestClient, sqlite_database: Database
) -> None:
    ids = add_audience(sqlite_database, 6, consent_every=2, chinese_every=3)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token)
    mail_web.post(f"/campaigns/{campaign_id}/send", data={"csrf_token": token})
    send_campaign(sqlite_database, campaign_id, "test")  # what the worker does
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with sqlite_database.session() as session:
        clicked = session.scalars(select(Message).where(Message.customer_id == ids[0])).one()
        link = session.scalars(select(CampaignLink)).first()
        assert link is not None
        assert record_click(session, clicked.id, link.id, "Mozilla/5.0 (Macintosh)", later)
    page = mail_web.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert 'id="r-sent">3<' in page.text
    assert 'id="r-clicked">1<' in page.text
    assert 'id="opens-note"' in page.text
    assert 'id="progress-text">3 of 3 sent' in page.text
    assert "hx-trigger" not in page.text.split('id="progress"')[1].split(">")[0]  # done
    chart = json.loads(page.text.split('id="campaign-data">')[1].split("</script>")[0])
    assert sum(chart["clicks"]) == 1
    assert len(chart["labels"]) == 8  # the 7-day window and the day of sending
    assert 'id="campaign-chart"' in page.text
    languages = page.text.split('id="by-language"')[1].split("</table>")[0]
    assert "English" in languages
    assert "Simplified Chinese" in languages
    assert 'id="by-segment"' in page.text
    progress = mail_web.get(f"/campaigns/{campaign_id}/progress?was=sending")
    assert progress.headers.get("HX-Refresh") == "true"  # sending ended: reload the page
    listed = mail_web.get("/campaigns").text.split('id="campaigns"')[1]
    assert "3 / 6" in listed

    customer = mail_web.get(f"/customers/{ids[0]}")
    item = customer.text.split('class="t-campaign"')[1].split("</li>")[0]
    assert f'href="/campaigns/{campaign_id}"' in item
    assert "Spring beans" in item
    assert "e-mail · sent" in item
    assert "clicked" in item
    left_out = mail_web.get(f"/customers/{ids[1]}", headers=CHINESE)
    item = left_out.text.split('class="t-campaign"')[1].split("</li>")[0]
    assert "电子邮件 · 未发送" in item
    assert "没有同意" in item


def test_the_chinese_campaign_pages_show_no_raw_keys(
    mail_web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 4, consent_every=2)
    token = sign_in(mail_web)
    draft = _create(mail_web, token)
    sent = _create(mail_web, token, name="Sent one")
    mail_web.post(f"/campaigns/{sent}/send", data={"csrf_token": token})
    send_campaign(sqlite_database, sent, "test")
    for path in ("/campaigns", "/campaigns/new", f"/campaigns/{draft}", f"/campaigns/{sent}"):
        page = mail_web.get(path, headers=CHINESE)
        assert page.status_code == 200, path
        assert raw_keys_and_reprs(visible_texts(page.text)) == [], path
    assert "营销活动" in mail_web.get("/campaigns", headers=CHINESE).text
