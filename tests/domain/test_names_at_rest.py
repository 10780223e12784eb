"""The raw database file holds no customer's name, company or tag in clear (issue 18): only
ciphertext and keyed tokens, while search, tags and name order keep working."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, text

from soloist.demo.business import build_demo
from soloist.domain.customers import (
    CustomerCreate,
    CustomerFilters,
    create_customer,
    list_customers,
    update_customer,
)
from soloist.domain.customers.records import CustomerUpdate
from soloist.storage.database import Database
from soloist.storage.models import Customer, CustomerTag

END = dt.date(2026, 6, 30)


def _raw_bytes(database: Database) -> bytes:
    path = Path(database.engine.url.database or "")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_the_database_file_holds_no_name_company_or_tag_in_clear(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        build_demo(session, customers=300, seed=4, end_date=END)
    with sqlite_database.session() as session:
        people = session.execute(select(Customer.name, Customer.company)).all()
        tags = set(session.scalars(select(CustomerTag.tag)))
        # Renamed once, so the audit log holds the old name and the new one.
        first = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert first is not None
        update_customer(session, first.id, CustomerUpdate(name="Octavia Brennan-Voss"), "owner")
        create_customer(
            session,
            CustomerCreate(
                name="Ignatius Perpetua",
                company="Perpetua Cartography Ltd",
                custom_fields={"referred_by": "Hildegard Umberfield"},
                tags=["cartographers-guild"],
            ),
            "owner",
        )
    names = {name for name, _ in people} | {"Octavia Brennan-Voss", "Ignatius Perpetua"}
    companies = {"Perpetua Cartography Ltd", "Hildegard Umberfield", "cartographers-guild"}
    assert len(names) > 250
    assert {"vip", "newsletter"} <= tags

    raw = _raw_bytes(sqlite_database)
    leaked = [value for value in names | companies if value.encode("utf-8") in raw]
    assert b"Octavia" not in raw
    assert b"Cartography" not in raw
    assert leaked == []
    with sqlite_database.engine.connect() as connection:  # short words: read the column itself
        stored = set(connection.scalars(text("SELECT DISTINCT tag FROM customer_tags")))
    assert len(stored) == len(tags) + 1
    assert not stored & (tags | {"cartographers-guild"})


def test_search_tag_filter_and_name_order_work_on_encrypted_names(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        build_demo(session, customers=200, seed=9, end_date=END)
    with sqlite_database.session() as session:
        people = {c.id: c.name for c in session.scalars(select(Customer))}
        page, total = list_customers(session, CustomerFilters(limit=500))
        assert total == len(people)
        assert [row.name.casefold() for row in page] == sorted(
            people[row.id].casefold() for row in page
        )
        target_id, target = next((cid, name) for cid, name in people.items() if " " in name)
        surname = target.split()[-1]
        found, _ = list_customers(session, CustomerFilters(q=surname[:4].upper()))
        assert target_id in {row.id for row in found}
        assert all(surname[:4].casefold() in row.name.casefold() for row in found)
        vip, vip_total = list_customers(session, CustomerFilters(tag="VIP", limit=500))
        assert vip_total == session.scalar(
            text("SELECT COUNT(*) FROM customer_tags WHERE tag = :t"),
            {"t": sqlite_database.keyring.seal("vip", "customer_tags.tag")},
        )
        assert vip_total > 0
        assert {row.id for row in vip} <= set(people)

        update_customer(session, target_id, CustomerUpdate(name="Aaron Aardvark"), "owner")
        session.flush()
        first, _ = list_customers(session, CustomerFilters(limit=1))
        assert first[0].id == target_id  # the order follows the rename at once
        renamed, _ = list_customers(session, CustomerFilters(q="aardv"))
        assert [row.id for row in renamed] == [target_id]


def test_the_name_order_brought_up_to_date_equals_a_fresh_sort(sqlite_database: Database) -> None:
    """After the first sort, the list's name order is brought up to date from the customers
    added or renamed since (a live order's new customer) instead of decrypting every name."""
    from soloist.domain.caches import clear_derived_caches
    from soloist.domain.customers.names import name_order

    with sqlite_database.session() as session:
        build_demo(session, customers=200, seed=3, end_date=END)
    with sqlite_database.session() as session:
        before = name_order(session).ids
        newcomer = create_customer(session, CustomerCreate(name="aaron Abbot"), "t").id
        renamed = before[0]
        update_customer(session, renamed, CustomerUpdate(name="Zoë Zylstra"), "t")
        session.flush()
        kept = name_order(session)
        assert (kept.ids[0], len(kept.ids)) == (newcomer, len(before) + 1)
        assert kept.place[renamed] > len(before) // 2  # no longer first: among the Z's
        clear_derived_caches()
        assert name_order(session).ids == kept.ids
        assert kept.place == {cid: place for place, cid in enumerate(kept.ids)}
