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
    released = threading.Event()
    build_report = report_build.build_report

    def slow_build(*args: Any, **kwargs: Any) -> report_build.Report:
        released.wait(timeout=60)
        return build_report(*args, **kwargs)

    monkeypatch.setattr(report_build, "build_report", slow_build)
    token = sign_in(web)
    web.post("/language", data={"locale": "zh_Hans", "next": "/", "csrf_token": token})
    pending = web.get("/reports")
    assert pending.status_code == 200
    assert 'id="pending"' in pending.text
    assert '<meta http-equiv="refresh"' in pending.text
    assert "正在首次计算" in pending.text
    assert "worked out" not in pending.text
    released.set()
    deadline = time.monotonic() + 30
    while 'id="pending"' in (page := web.get("/reports").text):
        assert time.monotonic() < deadline, "the report was never worked out"
        time.sleep(0.05)
    assert "月度报告" in page
    assert '<meta http-equiv="refresh"' not in page


def test_a_dashboard_not_worked_out_yet_is_a_page_that_reloads_itself(
    web: TestClient, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()
    build_dashboard = dashboard_module.build_dashboard

    def slow_build(*args: Any, **kwargs: Any) -> dashboard_module.Dashboard:
        released.wait(timeout=60)
        return build_dashboard(*args, **kwargs)

    monkeypatch.setattr(dashboard_module, "build_dashboard", slow_build)
    sign_in(web)
    pending = web.get("/")
    assert 'id="pending"' in pending.text
    assert "worked out for the first time" in pending.text
    released.set()
    deadline = time.monotonic() + 30
    while 'id="pending"' in (page := web.get("/").text):
        assert time.monotonic() < deadline, "the dashboard was never worked out"
        time.sleep(0.05)
    assert '<meta http-equiv="refresh"' not in page
