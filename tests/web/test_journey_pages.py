"""The journey pages: the list, the editor (a trigger's own settings, a message per language or
a task, a holdout), start and pause, the results after the worker's run, and the timeline of one
customer."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from fastapi.testclient import TestClient

from soloist.domain.campaigns import contents_of
from soloist.domain.journeys import get_journey, run_journeys
from soloist.domain.orders import OrderCreate, record_order
from soloist.storage.database import Database
from tests.domain.campaigns.builders import add_audience
from tests.web.conftest import raw_keys_and_reprs, sign_in, visible_texts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
HTMX = {"HX-Request": "true"}


def _form(token: str, **values: str | None) -> dict[str, str]:
    """A review request two weeks after each order, in English and Chinese."""
    form: dict[str, str | None] = {
        "csrf_token": token,
        "name": "Review request",
        "trigger": "order",
        "action": "message",
        "channel": "email",
        "days_order": "14",
        "days_birthday": "0",
        "days_points_expiring": "14",
        "days_churn_risk": "90",
        "threshold_pct": "60",
        "minimum_value": "",
        "wait_hours": "0",
        "segment": "",
        "task_title": "",
        "holdout_pct": "10",
        "default_language": "en",
        "subject_en": "How are the beans, {{ customer.first_name }}?",
        "body_en": "Hello {{ customer.name }},\n\ntell us how you like them.",
        "subject_zh": "{{ customer.name }}，咖啡豆怎么样？",
        "body_zh": "您好！欢迎评价。",
        "tab": "en",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def _create(client: TestClient, token: str, **values: str | None) -> int:
    response = client.post("/journeys/new", data=_form(token, **values), follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    found = re.fullmatch(r"/journeys/(\d+)\?done=created", response.headers["location"])
    assert found
    return int(found.group(1))


def test_journey_pages_need_a_sign_in_and_the_navigation_links_them(web: TestClient) -> None:
    for path in ("/journeys", "/journeys/new", "/journeys/1"):
        response = web.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    sign_in(web)
    assert 'href="/journeys"' in web.get("/").text
    empty = web.get("/journeys")
    assert 'id="no-journeys"' in empty.text
    assert 'href="/journeys/new"' in empty.text


def test_create_a_review_request_and_find_it_in_the_list(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 3)
    token = sign_in(web)
    new = web.get("/journeys/new")
    assert new.status_code == 200
    assert 'id="trigger-select"' in new.text
    assert 'data-triggers="churn_risk"' in new.text  # each trigger's own fields
    assert 'data-preview-url="/campaigns/preview"' in new.text  # the same live preview
    assert web.post("/journeys/new", data=_form("not the token")).status_code == 403

    journey_id = _create(web, token, days_order="10", holdout_pct="20", segment="1")
    with sqlite_database.read_session() as session:
        journey = get_journey(session, journey_id)
        assert (journey.trigger, journey.trigger_days, journey.status) == ("order", 10, "draft")
        assert journey.holdout_share == 0.2
        assert journey.segment_id == 1
        assert journey.campaign_id is not None
        contents = contents_of(session, journey.campaign_id)
        assert sorted(contents) == ["en", "zh-CN"]
    page = web.get(f"/journeys/{journey_id}?done=created")
    assert "The journey was created" in page.text
    assert 'id="start-journey"' in page.text
    assert 'name="days_order" min="0" max="365" value="10"' in page.text
    assert 'data-triggers="churn_risk"' not in page.text  # the trigger is fixed now
    listed = web.get("/journeys").text.split('id="journeys"')[1]
    assert f'href="/journeys/{journey_id}"' in listed
    assert "After an order (a review request)" in listed
    assert "draft" in listed


def test_the_editor_checks_each_triggers_settings(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    risky = web.post(
        "/journeys/new",
        data=_form(token, name="Win back", trigger="churn_risk", threshold_pct="150"),
    )
    assert risky.status_code == 422
    assert "The churn risk threshold is a percentage above 0 and below 100." in risky.text
    assert 'value="Win back"' in risky.text  # what was typed stays
    task = web.post(
        "/journeys/new", data=_form(token, name="Call them", action="task", task_title="")
    )
    assert task.status_code == 422
    assert "A task journey needs a task title." in task.text
    created = _create(
        web, token, name="Call them", action="task", task_title="Call {{ name }}",
        trigger="churn_risk", threshold_pct="70", minimum_value="250",
    )  # fmt: skip
    with sqlite_database.read_session() as session:
        journey = get_journey(session, created)
        assert (journey.action, journey.task_title) == ("task", "Call {{ name }}")
        assert journey.threshold == 0.7
        assert journey.minimum_value == 250


def test_start_pause_and_the_results_after_the_workers_run(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    journey_id = _create(web, token, name="Welcome", trigger="welcome", holdout_pct="50")
    started = web.post(
        f"/journeys/{journey_id}/start",
        data={"csrf_token": token, "backfill_days": "0"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    assert started.headers["location"] == f"/journeys/{journey_id}?done=started"
    add_audience(sqlite_database, 30)  # new customers after the start: welcome occasions
    noon = dt.datetime.now(dt.UTC).replace(hour=12, minute=0) + dt.timedelta(days=1)
    report = run_journeys(sqlite_database, now=noon)
    assert report.entered == 30

    page = web.get(f"/journeys/{journey_id}")
    assert "running" in page.text.split('id="journey-status"')[1].split("</span>")[0]
    results = page.text.split('id="journey-results"')[1].split("</section>")[0]
    assert 'id="j-entries">30<' in results
    sent = int(re.search(r'id="j-sent">(\d+)<', results).group(1))  # type: ignore[union-attr]
    held = int(re.search(r'id="j-holdout">(\d+)<', results).group(1))  # type: ignore[union-attr]
    assert sent + held == 30
    assert 0 < held < 30
    assert 'id="effect-bought"' in results  # both groups have customers: the effect is shown
    assert "cannot be told from noise yet" in results
    listed = web.get("/journeys").text.split('id="journeys"')[1]
    assert "incremental revenue" in listed

    paused = web.post(f"/journeys/{journey_id}/pause", data={"csrf_token": token})
    assert paused.status_code == 200
    assert "The journey is paused" in paused.text
    assert 'id="start-journey">Resume<' in paused.text
    with sqlite_database.read_session() as session:
        assert get_journey(session, journey_id).status == "paused"
    again = web.post(f"/journeys/{journey_id}/pause", data={"csrf_token": token})
    assert again.status_code == 409
    assert 'id="campaign-error"' in again.text


def test_the_timeline_shows_a_customers_order_occasion(
    web: TestClient, sqlite_database: Database
) -> None:
    ids = add_audience(sqlite_database, 2)
    token = sign_in(web)
    with sqlite_database.session() as session:
        order = record_order(session, OrderCreate(
            external_id="T-1", customer_id=ids[0], currency="USD", total=Decimal("30.00"),
            ordered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
        ), "test")  # fmt: skip
        order_id = order.id
    journey_id = _create(web, token, days_order="14")
    web.post(f"/journeys/{journey_id}/start", data={"csrf_token": token})

    shown = web.get(
        f"/journeys/{journey_id}/timeline", params={"customer": "c0@example.net"}, headers=HTMX
    )
    assert shown.status_code == 200
    item = shown.text.split('id="timeline-items"')[1].split("</li>")[0]
    assert f"Order {order_id}" in item
    assert "before the journey started" in item  # the order came before the start
    assert "How are the beans, Cleo?" in item  # the subject they would read
    by_pick = web.get(f"/journeys/{journey_id}/timeline", params={"pick": str(ids[0])})
    assert f"Order {order_id}" in by_pick.text  # a whole page without HTMX
    assert 'id="journey-timeline"' in by_pick.text
    nothing = web.get(
        f"/journeys/{journey_id}/timeline", params={"customer": str(ids[1])}, headers=HTMX
    )
    assert 'id="timeline-empty"' in nothing.text
    nobody = web.get(
        f"/journeys/{journey_id}/timeline", params={"customer": "nobody@x.org"}, headers=HTMX
    )
    assert "No customer with this id or e-mail address." in nobody.text
    page = web.get(f"/journeys/{journey_id}")
    assert 'id="recent-customer"' in page.text  # the newest customers to pick from
    chinese = web.get(
        f"/journeys/{journey_id}/timeline", params={"customer": str(ids[0])}, headers=CHINESE
    )
    assert f"订单 {order_id}" in chinese.text
    assert raw_keys_and_reprs(visible_texts(chinese.text)) == []


def test_saving_changes_the_settings_and_the_text(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    journey_id = _create(web, token)
    saved = web.post(
        f"/journeys/{journey_id}",
        data=_form(token, name="Reviews", days_order="21", subject_zh="", body_zh="",
                   trigger="welcome"),
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    with sqlite_database.read_session() as session:
        journey = get_journey(session, journey_id)
        assert (journey.name, journey.trigger, journey.trigger_days) == ("Reviews", "order", 21)
        assert journey.campaign_id is not None
        assert sorted(contents_of(session, journey.campaign_id)) == ["en"]


def test_a_read_only_user_sees_journeys_but_cannot_change_them(
    web: TestClient, sqlite_database: Database
) -> None:
    journey_id = _create(web, sign_in(web))
    web.cookies.clear()
    token = sign_in(web, "viewer@example.com")
    listed = web.get("/journeys")
    assert listed.status_code == 200
    assert 'href="/journeys/new"' not in listed.text
    page = web.get(f"/journeys/{journey_id}")
    assert page.status_code == 200
    assert 'id="save-journey"' not in page.text
    assert 'id="journey-actions"' not in page.text
    assert '<fieldset class="plain stack" disabled>' in page.text
    assert web.get("/journeys/new").status_code == 403
    for path in ("", "/start", "/pause"):
        response = web.post(f"/journeys/{journey_id}{path}", data=_form(token, name="Mine"))
        assert response.status_code == 403, path
    assert web.post("/journeys/new", data=_form(token)).status_code == 403
    with sqlite_database.read_session() as session:
        journey = get_journey(session, journey_id)
        assert (journey.name, journey.status) == ("Review request", "draft")


def test_the_chinese_journey_pages_show_no_raw_keys(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 3)
    token = sign_in(web)
    journey_id = _create(web, token)
    for path in ("/journeys", "/journeys/new", f"/journeys/{journey_id}"):
        page = web.get(path, headers=CHINESE)
        assert page.status_code == 200, path
        assert raw_keys_and_reprs(visible_texts(page.text)) == [], path
    assert "旅程" in web.get("/journeys", headers=CHINESE).text
    assert "订单后（邀请评价）" in web.get(f"/journeys/{journey_id}", headers=CHINESE).text
