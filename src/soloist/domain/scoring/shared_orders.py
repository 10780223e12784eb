"""One read of the paid orders for analyses run one after the other.

``soloist analyze`` and the nightly refit fit the purchase models, then the segments, then the
churn model, each reading every paid order (a million rows at a hundred thousand customers,
about two seconds each time). Inside :func:`paid_orders_shared` the first read is kept and the
next analyses take a copy of it, as long as the orders are as they were: their count, their
newest id and the newest audited change (a refund, a status change, an edit, a merge) are the
same. What the analyses write themselves (their runs, scores and segments) is not a change of
the orders. Outside it every read goes to the database, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.storage.models import AuditEntry, Order

#: The audit log's entity types of what the analyses write (a run, its scores and segments).
WRITTEN_BY_ANALYSES = ("model_run", "customer_scores", "segment", "segment_members")

_kept: ContextVar[dict[Hashable, pd.DataFrame] | None] = ContextVar(
    "soloist_paid_orders_kept", default=None
)


@contextmanager
def paid_orders_shared() -> Iterator[None]:
    """Within: analyses that read the same paid orders of unchanged data share one read."""
    token = _kept.set({})
    try:
        yield
    finally:
        _kept.reset(token)


def shared_read(session: Session, key: Hashable, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``read()``, or inside :func:`paid_orders_shared` a copy of its earlier result for the
    same ``key`` while the orders are unchanged."""
    kept = _kept.get()
    if kept is None:
        return read()
    changed = (
        select(AuditEntry.id)
        .where(AuditEntry.entity_type.not_in(WRITTEN_BY_ANALYSES))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    count, newest, audited = session.execute(
        select(
            select(func.count(Order.id)).scalar_subquery(),
            select(func.max(Order.id)).scalar_subquery(),
            changed.scalar_subquery(),
        )
    ).one()
    slot = (str(session.get_bind().engine.url), key, count, newest, audited)
    frame = kept.get(slot)
    if frame is None:
        kept.clear()  # one read at a time is all the analyses share
        frame = kept[slot] = read()
    return frame.copy()
