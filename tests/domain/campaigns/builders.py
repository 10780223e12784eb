"""Customers with e-mail consent in a saved list, for the campaign tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from soloist.domain.campaigns import save_list_segment
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.storage.database import Database
from soloist.storage.models import ConsentRecord

ACTOR = "test"
BODY_EN = """<html><body><p>Hello {{ customer.first_name }},</p>
<p>You have {{ customer.points }} points.
See <a href="https://coffee.example/beans?utm=mail">our new beans</a>.</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>"""
BODY_ZH = """<p>{{ customer.name }}，您好！</p>
<p>您有 {{ customer.points }} 积分。<a href="https://coffee.example/beans">新豆上市</a></p>
<p><a href="{{ unsubscribe_url }}">退订</a></p>"""


def add_audience(
    database: Database,
    count: int,
    *,
    consent_every: int = 1,
    chinese_every: int = 0,
    segment: str = "everyone",
    domain: str = "example.net",
) -> list[int]:
    """``count`` customers (``c<i>@domain``); every ``consent_every``-th has e-mail consent,
    every ``chinese_every``-th speaks Chinese; all in the saved list ``segment``."""
    rows = [
        CustomerCreate(
            name=f"客户{i}" if chinese_every and i % chinese_every == 0 else f"Cleo Number{i}",
            email=f"c{i}@{domain}",
            language="zh-CN" if chinese_every and i % chinese_every == 0 else "en",
        )
        for i in range(count)
    ]
    with database.session() as session:
        ids = add_customers_bulk(session, rows, ACTOR, "campaign test customers")
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        consents = [
            {"customer_id": cid, "channel": "email", "granted": True, "source": "checkout",
             "recorded_at": at}
            for i, cid in enumerate(ids)
            if i % consent_every == 0
        ]  # fmt: skip
        if consents:
            session.execute(insert(ConsentRecord), consents)
        save_list_segment(session, segment, ids, ACTOR)
    return ids
