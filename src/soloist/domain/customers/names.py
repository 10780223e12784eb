"""Customer names are encrypted at rest: finding them through a blind index, sorting them in
memory.

The database sees each name as ciphertext with its own nonce, so it can neither search nor
sort by it. Search goes through the keyed word tokens of :mod:`soloist.storage.search_tokens`;
name order is worked out here once (every customer's name decrypted and case-folded, about
0.7 s per 100,000) and then brought up to date from the customers added or changed since (a
live order's new customer: milliseconds).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from soloist.storage.caches import VersionedCache
from soloist.storage.models import Customer
from soloist.storage.search_tokens import forget_records, index_records, matching_records

SCOPE = "customer"
_orders: VersionedCache[str, NameOrder] = VersionedCache(
    "customer name order", maxsize=8, kept=True
)


@dataclass(frozen=True)
class NameOrder:
    """Every customer id in name order (case folded; ties by id), and each one's place.

    ``keys`` are the (case-folded name, id) pairs in that order, and ``version`` the customers
    table's (count, newest id, newest change) they were read at, to bring them up to date."""

    ids: list[int]
    place: dict[int, int]
    keys: list[tuple[str, int]]
    version: tuple[Any, ...]

    @classmethod
    def of(cls, keys: list[tuple[str, int]], version: tuple[Any, ...]) -> NameOrder:
        ids = [cid for _, cid in keys]
        return cls(ids, {cid: place for place, cid in enumerate(ids)}, keys, version)

    def arrange(self, matching: Collection[int], offset: int, limit: int) -> list[int]:
        """The page ``[offset, offset + limit)`` of ``matching`` in name order: a few matches
        are sorted by their places, many are picked out of the whole order as it is walked."""
        if len(matching) * 8 < len(self.ids):
            ordered = sorted(matching, key=lambda cid: (self.place.get(cid, -1), cid))
            return ordered[offset : offset + limit]
        members = matching if isinstance(matching, set | frozenset) else set(matching)
        return list(islice((cid for cid in self.ids if cid in members), offset, offset + limit))


def index_customer_names(
    session: Session,
    names: Mapping[int, tuple[str | None, str | None]],
    *,
    fresh: bool = False,
) -> None:
    """Index the name and company of each customer (id → (name, company)); ``fresh``: new
    customers, with no tokens yet."""
    index_records(session, SCOPE, names, fresh=fresh)


def reindex_customer_names(session: Session, ids: Sequence[int] | None = None) -> int:
    """Rebuild the index of ``ids`` (every customer when None) from the stored names; the
    number of customers indexed."""
    query = select(Customer.id, Customer.name, Customer.company)
    if ids is not None:
        query = query.where(Customer.id.in_(list(ids)))
    names = {row.id: (row.name, row.company) for row in session.execute(query)}
    index_customer_names(session, names)
    return len(names)


def forget_customer_names(session: Session, ids: Sequence[int]) -> None:
    forget_records(session, SCOPE, ids)


def customers_named(session: Session, term: str) -> Select[Any] | None:
    """Ids of the customers whose name or company has every word of ``term`` (each word as the
    start of one of theirs), or None when ``term`` has no word to look for."""
    return matching_records(session, SCOPE, term)


def name_order(session: Session) -> NameOrder:
    """Every customer in name order, brought up to date when the customers table changed."""
    url = str(session.get_bind().engine.url)
    version: tuple[Any, ...] = tuple(
        session.execute(
            select(func.count(Customer.id), func.max(Customer.id), func.max(Customer.updated_at))
        ).one()
    )

    def everyone() -> NameOrder:
        rows = session.execute(select(Customer.id, Customer.name)).all()
        return NameOrder.of(sorted((_key(name), cid) for cid, name in rows), version)

    return _orders.get_or_extend(
        url, version, lambda previous: _brought_up_to_date(session, previous, version), everyone
    )


def _key(name: str | None) -> str:
    return (name or "").casefold()


def _brought_up_to_date(
    session: Session, previous: NameOrder, version: tuple[Any, ...]
) -> NameOrder | None:
    """``previous`` with the customers added or changed since put in their places, or None
    when sorting again is simpler (a customer was deleted, or many changed)."""
    count, _, _ = version
    _, newest, updated = previous.version
    if newest is None or updated is None:
        return None
    changed = session.execute(
        select(Customer.id, Customer.name)
        .where(or_(Customer.id > newest, Customer.updated_at >= updated))
        .limit(len(previous.ids) // 10 + 1)
    ).all()
    if len(changed) > len(previous.ids) // 10:
        return None
    ids = {cid for cid, _ in changed}
    keys = [key for key in previous.keys if key[1] not in ids]
    for cid, name in changed:
        insort(keys, (_key(name), cid))
    if len(keys) != count:  # a customer was deleted
        return None
    return NameOrder.of(keys, version)
