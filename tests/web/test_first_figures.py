"""An overview page whose very first figures take long (the report: half a minute at a
hundred thousand customers) says they are being worked out and reloads itself, in the
owner's language, instead of keeping the browser waiting."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

import soloist.domain.dashboard as dashboard_module
import soloist.domain.reports.build as report_build
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.orders import OrderCreate, OrderLineCreate, record_order
from soloist.storage.database import Database
from tests.web.conftest import sign_in


def _held_back(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> threading.Event:
    """Make ``module.name`` (a build) wait until the returned event is set."""
    released = threading.Event()
    build = getattr(module, name)

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        released.wait(timeout=60)
        return build(*args, **kwargs)

    monkeypatch.setattr(module, name, slow_build)
    return released


def _once_worked_out(web: TestClient, path: str) -> str:
    deadline = time.monotonic() + 30
    while 'id="pending"' in (page := web.get(path).text):
        assert time.monotonic() < deadline, f"{path} was never worked out"
        time.sleep(0.05)
    return page


def test_a_report_not_worked_out_yet_is_a_page_that_reloads_itself(
    web: TestClient, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite_database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Ada"), "t").id
        record_order(
            session,
            OrderCreate(external_id="o-1", customer_id=customer, currency="USD",
                        ordered_at=dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC),
                        lines=[OrderLineCreate(description="tea", unit_price=Decimal("40"))]),
            "t",
        )  # fmt: skip
    released = _held_back(monkeypatch, report_build, "build_report")
    token = sign_in(web)
    web.post("/language", data={"locale": "zh_Hans", "next": "/", "csrf_token": token})
    pending = web.get("/reports")
    assert pending.status_code == 200
    assert 'id="pending"' in pending.text
    assert '<meta http-equiv="refresh"' in pending.text
    assert "正在首次计算" in pending.text
    assert "worked out" not in pending.text
    released.set()
    page = _once_worked_out(web, "/reports")
    assert "月度报告" in page
    assert '<meta http-equiv="refresh"' not in page


def test_a_dashboard_not_worked_out_yet_is_a_page_that_reloads_itself(
    web: TestClient, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = _held_back(monkeypatch, dashboard_module, "build_dashboard")
    sign_in(web)
    pending = web.get("/")
    assert 'id="pending"' in pending.text
    assert "worked out for the first time" in pending.text
    released.set()
    page = _once_worked_out(web, "/")
    assert '<meta http-equiv="refresh"' not in page
