"""The jobs page: owner and staff see the queue and the errors of failed jobs; `serve` runs a
worker beside the app."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.jobs import Worker, enqueue, enqueue_job, list_jobs
from soloist.storage.database import Database
from tests.web.conftest import sign_in


def test_the_jobs_page_shows_a_failed_job_with_its_error(
    web: TestClient, sqlite_database: Database
) -> None:
    with sqlite_database.session() as session:
        enqueue_job(session, "teleport")
    Worker(sqlite_database).run_one()
    sign_in(web)
    page = web.get("/jobs")
    assert page.status_code == 200
    assert "No handler for job kind &#39;teleport&#39;" in page.text
    assert 'href="/jobs"' in page.text


def test_the_jobs_page_is_in_chinese_for_a_chinese_reader(web: TestClient) -> None:
    sign_in(web, "staff@example.com")
    page = web.get("/jobs", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "后台任务" in page.text


def test_a_read_only_user_may_not_see_the_jobs(web: TestClient) -> None:
    sign_in(web, "viewer@example.com")
    assert web.get("/jobs").status_code == 403
    assert 'href="/jobs"' not in web.get("/").text


def test_the_app_runs_a_worker_while_it_serves_when_asked(sqlite_database: Database) -> None:
    job = enqueue(sqlite_database, "refit")
    app = create_app(sqlite_database.settings, sqlite_database, run_worker=True)
    with TestClient(app):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sqlite_database.read_session() as session:
                (found,) = [j for j in list_jobs(session) if j.id == job.id]
            if found.status == "done":
                break
            time.sleep(0.05)
    assert found.status == "done"
