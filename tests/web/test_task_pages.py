"""The task pages: the list and its tabs, a new task (due in the workspace's time zone, with a
reminder), done and reopen, a task's own page, overdue tasks marked in words, the dashboard's
"Today" card, the deal's and customer's tasks; read-only users see and cannot change."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soloist.app import create_app
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.sales import create_deal, create_task, get_deal, get_task
from soloist.domain.users import add_user
from soloist.storage.database import Database
from soloist.storage.models import Task
from tests.web.conftest import PASSWORD, raw_keys_and_reprs, sign_in, visible_texts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ZONE = "Asia/Shanghai"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _customer(database: Database, name: str, email: str | None = None) -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name=name, email=email), "test").id


def _task(database: Database, title: str, due: dt.datetime | None, **links: int) -> int:
    with database.session() as session:
        return create_task(session, title, "test", due_at=due, **links).id


def _row(page: str, task_id: int) -> str:
    found = re.search(rf'<tr id="task-{task_id}" class="[^"]*">.*?</tr>', page, re.S)
    assert found, f"task {task_id} is not listed"
    return found.group(0)


def _listed(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="task-(\d+)"', page)]


@pytest.fixture
def shanghai(sqlite_database: Database) -> Iterator[TestClient]:
    """The web app of a workspace in Shanghai's time zone (UTC+8, no daylight saving)."""
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
    settings = sqlite_database.settings.model_copy(update={"timezone": ZONE})
    with TestClient(create_app(settings, sqlite_database)) as client:
        yield client


def test_a_new_task_is_due_in_the_workspaces_time_zone_with_its_reminder(
    shanghai: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    token = sign_in(shanghai)
    assert shanghai.get("/tasks/new").status_code == 200
    created = shanghai.post(
        "/tasks/new",
        data={
            "title": "Call about the grinder",
            "due_date": "2031-05-04",
            "due_time": "09:30",
            "remind": "60",
            "priority": "high",
            "notes": "Ask for the model",
            "customer": "ada@example.com",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert (created.status_code, created.headers["location"]) == (303, "/tasks?done=task_created")
    with sqlite_database.read_session() as session:
        task = session.scalars(select(Task)).one()
        due = dt.datetime(2031, 5, 4, 9, 30, tzinfo=ZoneInfo(ZONE))
        assert task.due_at == due
        assert task.remind_at == due - dt.timedelta(hours=1)
        assert (task.title, task.priority, task.customer_id, task.notes) == (
            "Call about the grinder",
            "high",
            ada,
            "Ask for the model",
        )
        assert task.assignee_id == 1  # the one who added it
    page = shanghai.get(f"/tasks/{task.id}")
    assert 'value="2031-05-04"' in page.text
    assert 'value="09:30"' in page.text
    assert re.search(r'<option value="60" selected>', page.text)


def test_a_task_with_a_mistake_saves_nothing_and_says_where(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    untitled = web.post("/tasks/new", data={"title": " ", "csrf_token": token})
    assert untitled.status_code == 422
    assert re.search(r'id="title-error" role="alert">Give the task a title.', untitled.text)
    late = web.post(
        "/tasks/new",
        data={"title": "Call", "due_date": "2031-05-04", "due_time": "25:00", "csrf_token": token},
    )
    assert late.status_code == 422
    assert 'id="time-error"' in late.text
    assert 'value="Call"' in late.text
    reminder = web.post("/tasks/new", data={"title": "Call", "remind": "15", "csrf_token": token})
    assert reminder.status_code == 422
    assert 'id="remind-error"' in reminder.text
    no_deal = web.post("/tasks/new", data={"title": "Call", "deal": "999", "csrf_token": token})
    assert no_deal.status_code == 404
    assert 'id="deal-error"' in no_deal.text
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count(Task.id))) == 0


def test_done_and_reopen(web: TestClient, sqlite_database: Database) -> None:
    task_id = _task(sqlite_database, "Send the quote", _now() + dt.timedelta(hours=1))
    token = sign_in(web)
    done = web.post(
        f"/tasks/{task_id}/done",
        data={"next": "/tasks?show=today", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/tasks?show=today&done=task_done"
    with sqlite_database.read_session() as session:
        assert get_task(session, task_id).done_at is not None
    assert task_id not in _listed(web.get("/tasks?show=today").text)
    assert task_id in _listed(web.get("/tasks?show=done").text)
    web.post(f"/tasks/{task_id}/reopen", data={"csrf_token": token})
    with sqlite_database.read_session() as session:
        assert get_task(session, task_id).done_at is None


def test_the_tabs_and_the_overdue_tasks_marked_in_words(
    web: TestClient, sqlite_database: Database
) -> None:
    now = _now()
    late = _task(sqlite_database, "Overdue call", now - dt.timedelta(days=2))
    later = _task(sqlite_database, "Next week", now + dt.timedelta(days=7))
    someday = _task(sqlite_database, "Some day", None)
    sign_in(web)
    today = web.get("/tasks").text
    assert late in _listed(today)
    assert later not in _listed(today)
    row = _row(today, late)
    assert 'class="task-overdue"' in row
    assert "overdue" in visible_texts(row)  # in words, not only in red
    assert _listed(web.get("/tasks?show=overdue").text) == [late]
    assert _listed(web.get("/tasks?show=upcoming").text) == [later]
    assert _listed(web.get("/tasks?show=open").text) == [late, later, someday]
    assert "overdue" not in visible_texts(_row(web.get("/tasks?show=open").text, later))


def test_the_dashboard_lists_today_and_the_overdue_tasks_first(
    web: TestClient, sqlite_database: Database
) -> None:
    now = _now()
    ada = _customer(sqlite_database, "Ada Lovelace")
    soon = _task(sqlite_database, "Later today", now + dt.timedelta(minutes=5))
    late = _task(sqlite_database, "Overdue call", now - dt.timedelta(days=1), customer_id=ada)
    tomorrow = _task(sqlite_database, "Next week", now + dt.timedelta(days=7))
    token = sign_in(web)
    page = web.get("/").text
    card = page.split('id="today"')[1].split("</section>")[0]
    assert _listed(card) == [late, soon] or (
        # "later today" may already be tomorrow in UTC near midnight: then only the overdue one
        now.date() != (now + dt.timedelta(minutes=5)).date() and _listed(card) == [late]
    )
    assert tomorrow not in _listed(card)
    assert "overdue" in visible_texts(_row(card, late))
    assert "Ada Lovelace" in visible_texts(_row(card, late))
    done = web.post(
        f"/tasks/{late}/done", data={"next": "/", "csrf_token": token}, follow_redirects=False
    )
    assert done.headers["location"] == "/?done=task_done"
    assert late not in _listed(web.get("/").text.split('id="today"')[1].split("</section>")[0])


def test_a_task_added_on_a_deals_page_is_listed_there_and_doing_it_is_activity(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    old = _now() - dt.timedelta(days=40)
    with sqlite_database.session() as session:
        deal_id = create_deal(
            session, "test", name="Grinders", customer_id=ada, value="10", currency="USD", now=old
        ).id
    token = sign_in(web)
    page = web.get(f"/deals/{deal_id}").text
    assert 'id="deal-stale"' in page
    added = web.post(
        "/tasks/new",
        data={
            "title": "Send the quote",
            "deal": str(deal_id),
            "due_date": "2031-01-02",
            "next": f"/deals/{deal_id}",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert added.headers["location"] == f"/deals/{deal_id}?done=task_created"
    page = web.get(added.headers["location"]).text
    assert "Task added." in page
    with sqlite_database.read_session() as session:
        task = session.scalars(select(Task)).one()
        assert (task.deal_id, task.customer_id) == (deal_id, ada)  # the deal's customer
    assert f'id="task-{task.id}"' in page
    web.post(f"/tasks/{task.id}/done", data={"next": f"/deals/{deal_id}", "csrf_token": token})
    assert 'id="deal-stale"' not in web.get(f"/deals/{deal_id}").text
    with sqlite_database.read_session() as session:
        assert get_deal(session, deal_id).last_activity_at > old


def test_a_tasks_page_changes_it_and_a_ticket_link_is_kept(
    web: TestClient, sqlite_database: Database
) -> None:
    task_id = _task(sqlite_database, "Call", _now() + dt.timedelta(days=1))
    token = sign_in(web)
    page = web.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert 'value="Call"' in page.text
    saved = web.post(
        f"/tasks/{task_id}/edit",
        data={
            "title": "Call back",
            "due_date": "2031-02-03",
            "due_time": "",
            "priority": "low",
            "remind": "",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.headers["location"] == f"/tasks/{task_id}?done=saved"
    with sqlite_database.read_session() as session:
        task = get_task(session, task_id)
        assert (task.title, task.priority) == ("Call back", "low")
        assert task.due_at == dt.datetime(2031, 2, 3, 17, 0, tzinfo=dt.UTC)  # the default time
    wrong = web.post(
        f"/tasks/{task_id}/edit", data={"title": "Call back", "ticket": "abc", "csrf_token": token}
    )
    assert wrong.status_code == 422
    assert 'id="ticket-error"' in wrong.text
    web.post(f"/tasks/{task_id}/delete", data={"csrf_token": token})
    with sqlite_database.read_session() as session:
        assert session.get(Task, task_id) is None


def test_a_read_only_user_sees_tasks_and_cannot_change_them(
    web: TestClient, sqlite_database: Database
) -> None:
    task_id = _task(sqlite_database, "Call", _now() - dt.timedelta(hours=1))
    token = sign_in(web, "viewer@example.com")
    page = web.get("/tasks").text
    assert task_id in _listed(page)
    assert f'id="done-{task_id}"' not in page
    assert 'id="new-task"' not in page
    assert web.post(f"/tasks/{task_id}/done", data={"csrf_token": token}).status_code == 403
    assert web.post("/tasks/new", data={"title": "Mine", "csrf_token": token}).status_code == 403
    with sqlite_database.read_session() as session:
        assert get_task(session, task_id).done_at is None


def test_the_customer_page_shows_open_deals_and_tasks(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    with sqlite_database.session() as session:
        deal_id = create_deal(
            session, "test", name="Grinders", customer_id=ada, value="10", currency="USD"
        ).id
    task_id = _task(sqlite_database, "Call Ada", _now() + dt.timedelta(days=1), customer_id=ada)
    sign_in(web)
    page = web.get(f"/customers/{ada}").text
    deals = page.split('id="customer-deals"')[1].split("</section>")[0]
    assert f'id="customer-deal-{deal_id}"' in deals
    assert "Lead" in visible_texts(deals)
    assert f'id="task-{task_id}"' in page.split('id="customer-tasks"')[1]
    assert 'id="customer-tickets"' in page  # the support desk's part stays


@pytest.mark.parametrize("headers", [{}, CHINESE], ids=["en", "zh_Hans"])
def test_every_task_page_renders_without_raw_keys(
    web: TestClient, sqlite_database: Database, headers: dict[str, str]
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    task_id = _task(sqlite_database, "Call", _now() - dt.timedelta(hours=1), customer_id=ada)
    sign_in(web)
    language = "zh-Hans" if headers else "en"
    for path in (
        "/",
        "/tasks",
        "/tasks?show=done",
        "/tasks?show=upcoming",
        "/tasks/new",
        f"/tasks/{task_id}",
    ):
        page = web.get(path, headers=headers)
        assert page.status_code == 200, path
        assert page.headers["content-language"] == language
        assert raw_keys_and_reprs(visible_texts(page.text)) == [], path
