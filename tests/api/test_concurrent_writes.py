"""200 writers at once through a real HTTP server: every answer 2xx, no update lost.

A burst of webhooks looks like this: uvicorn serves the app on 127.0.0.1 from a background
thread (its thread pool runs the routes in parallel) and 200 requests leave at once from an
``httpx.AsyncClient`` — PATCHes of one customer, POSTs creating customers and ``+1`` point
adjustments of one member, mixed — on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from soloist.app import create_app
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.ledger import points_balance
from soloist.domain.loyalty.programme import enrol_customers
from soloist.domain.loyalty.rules import update_programme_settings
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer, LedgerEntry
from tests.api.conftest import bearer
from tests.api.test_loyalty_concurrency import served

WRITERS = 200
PATCHES, CREATES, ADJUSTMENTS = 67, 67, 66  # every third request of each kind

pytestmark = pytest.mark.slow


def _targets(database: Database) -> tuple[int, int]:
    """A customer to patch and an enrolled member to adjust."""
    with database.session() as session:
        update_programme_settings(session, {"holdout_share": 0.0}, "test")
        patched = create_customer(session, CustomerCreate(name="Patched Pat"), "test")
        member = create_customer(session, CustomerCreate(name="Member May"), "test")
        enrol_customers(session, "test", customer_ids=[member.id])  # may earn a welcome bonus
        return patched.id, member.id


def _burst(url: str, token: str, requests: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    async def fire() -> list[Any]:
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        # Generous: on a busy 2-core machine 200 serialised SQLite writes take seconds, not
        # minutes; a hang would show as a timeout here rather than a stuck run.
        async with httpx.AsyncClient(
            base_url=url, headers=bearer(token), timeout=180, limits=limits
        ) as client:
            return await asyncio.gather(
                *(client.request(method, path, json=body) for method, path, body in requests)
            )

    return asyncio.run(fire())


def test_200_concurrent_writers_all_succeed_and_lose_nothing(
    database: Database, tokens: dict[str, str]
) -> None:
    patched_id, member_id = _targets(database)
    with database.read_session() as session:
        balance_before = points_balance(session, member_id)
    requests: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(WRITERS):  # interleaved, so the three kinds contend with one another
        if i % 3 == 0:
            body = {"company": f"Company {i}", "tags": [f"tag-{i}"]}
            requests.append(("PATCH", f"/api/v1/customers/{patched_id}", body))
        elif i % 3 == 1:
            requests.append(("POST", "/api/v1/customers", {"name": f"Burst {i}"}))
        else:
            path = f"/api/v1/customers/{member_id}/loyalty/adjustments"
            requests.append(("POST", path, {"points": 1, "reason": f"burst {i}"}))
    kinds = Counter(
        method + (" adjust" if "loyalty" in path else "") for method, path, _ in requests
    )
    assert kinds == {"PATCH": PATCHES, "POST": CREATES, "POST adjust": ADJUSTMENTS}

    with served(create_app(database.settings, database)) as url:
        responses = _burst(url, tokens["write"], requests)

    failed = [(r.status_code, r.text[:300]) for r in responses if not 200 <= r.status_code < 300]
    assert failed == []

    sent_companies = {body["company"] for method, _, body in requests if method == "PATCH"}
    created_ids = {
        r.json()["id"] for r in responses if r.request.method == "POST" and "name" in r.json()
    }
    assert len(created_ids) == CREATES
    with database.read_session() as session:
        # Every PATCH is in the audit trail, and the customer is exactly what one of them wrote
        # (its company and its tag from the same request: no half of one and half of another).
        changes = session.scalars(
            select(AuditEntry.changes).where(
                AuditEntry.action == "customer.updated", AuditEntry.entity_id == str(patched_id)
            )
        ).all()
        assert len(changes) == PATCHES
        customer = session.get(Customer, patched_id)
        assert customer is not None
        assert customer.company in sent_companies
        assert customer.tag_names == [f"tag-{str(customer.company).removeprefix('Company ')}"]
        # Every created customer exists.
        found = session.scalars(select(Customer.id).where(Customer.id.in_(created_ids))).all()
        assert set(found) == created_ids
        # Every +1 counts: the balance is exactly the number of adjustments.
        assert points_balance(session, member_id) == balance_before + ADJUSTMENTS
        adjustments = session.scalars(
            select(LedgerEntry.id).where(
                LedgerEntry.customer_id == member_id, LedgerEntry.kind == "adjust"
            )
        ).all()
        assert len(adjustments) == ADJUSTMENTS
