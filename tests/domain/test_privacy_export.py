"""A person's data, handed over: everything held about them and nothing about anyone else."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soloist.app import create_app
from soloist.demo.business import build_demo
from soloist.domain.privacy import export_person
from soloist.domain.service import Desk, open_ticket
from soloist.domain.users import add_user, create_token
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer, Order

END = dt.date(2026, 6, 30)


def _buyers(database: Database) -> tuple[int, Customer, Customer]:
    with database.session() as session:
        build_demo(session, customers=30, seed=11, end_date=END)
    with database.session() as session:
        ids = session.scalars(
            select(Order.customer_id).group_by(Order.customer_id).order_by(Order.customer_id)
        ).all()
        person, other = session.get(Customer, ids[0]), session.get(Customer, ids[1])
        assert person is not None
        assert other is not None
        person.language = "zh-CN"
    with database.read_session() as session:
        person, other = session.get(Customer, ids[0]), session.get(Customer, ids[1])
        session.expunge_all()
        return ids[0], person, other  # type: ignore[return-value]


def test_the_archive_holds_the_persons_records_decrypted_and_nobody_elses(
    database: Database, tmp_path: Path
) -> None:
    customer_id, person, other = _buyers(database)
    with database.session() as session:
        desk = Desk.of(session, database.settings)
        open_ticket(session, desk, "我的订单在哪里", "还没有收到。", "customer:test",
                    customer_id=customer_id)  # fmt: skip
        orders = session.scalar(
            select(func.count(Order.id)).where(Order.customer_id == customer_id)
        )
    with database.session() as session:
        result = export_person(session, customer_id, tmp_path / "p.zip", "user:1")

    archive = zipfile.ZipFile(tmp_path / "p.zip")
    names = set(archive.namelist())
    expected = ("README.txt", "data.json", "csv/customers.csv", "csv/orders.csv",
                "csv/order_lines.csv", "csv/tickets.csv", "csv/ticket_messages.csv")  # fmt: skip
    assert set(expected) <= names
    assert "您的数据" in archive.read("README.txt").decode()  # the person reads Chinese
    data = json.loads(archive.read("data.json"))
    assert data["customers"][0]["email"] == person.email  # decrypted
    assert len(data["orders"]) == orders == result.tables["orders"]
    assert {line["order_id"] for line in data["order_lines"]} == {o["id"] for o in data["orders"]}
    assert "还没有收到。" in [message["body"] for message in data["ticket_messages"]]
    everything = b"".join(archive.read(name) for name in names).decode("utf-8")
    assert other.email not in everything
    assert other.name not in everything
    assert "_hash" not in everything  # keyed lookup hashes are machinery, not their data
    with database.read_session() as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.data_exported")
        ).one()
    assert audit.entity_id == str(customer_id)
    assert person.email not in json.dumps(audit.changes)


def test_only_the_owner_may_export_through_the_api(sqlite_database: Database) -> None:
    customer_id, person, _ = _buyers(sqlite_database)
    with sqlite_database.session() as session:
        add_user(session, "staff@example.com", "staff", "a long enough password", "t")
        _, owner = create_token(session, "owner@example.com", "read", "t")
        _, staff = create_token(session, "staff@example.com", "write", "t")
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        path = f"/api/v1/customers/{customer_id}/export"
        refused = client.get(path, headers={"Authorization": f"Bearer {staff}"})
        assert refused.status_code == 403
        answer = client.get(path, headers={"Authorization": f"Bearer {owner}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/zip"
        data = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("data.json"))
        assert data["customers"][0]["email"] == person.email
        missing = client.get("/api/v1/customers/999999/export",
                             headers={"Authorization": f"Bearer {owner}"})  # fmt: skip
        assert missing.status_code == 404


def test_the_owner_downloads_the_archive_from_the_customer_page(sqlite_database: Database) -> None:
    from tests.web.conftest import PASSWORD, sign_in

    customer_id, person, _ = _buyers(sqlite_database)
    with sqlite_database.session() as session:
        add_user(session, "staff@example.com", "staff", PASSWORD, "t")
        from soloist.domain.users import get_user_by_email, reset_password

        owner = get_user_by_email(session, "owner@example.com")
        reset_password(session, owner.id, PASSWORD, "t")
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as web:
        sign_in(web, "staff@example.com")
        assert "export-person" not in web.get(f"/customers/{customer_id}").text
        assert web.get(f"/customers/{customer_id}/export").status_code == 403
        sign_in(web, "owner@example.com")
        assert "export-person" in web.get(f"/customers/{customer_id}").text
        answer = web.get(f"/customers/{customer_id}/export")
        assert answer.status_code == 200
        data = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("data.json"))
        assert data["customers"][0]["email"] == person.email
