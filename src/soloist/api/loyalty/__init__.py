"""The loyalty API, one router per prefix: a member's points under
``/api/v1/customers/{customer_id}/loyalty`` (:mod:`.members`), the programme's tiers, rewards and
coupons under ``/api/v1/loyalty`` (:mod:`.programme`) and its measured effect (:mod:`.report`).

Write routes here open and commit their transaction inside the route function, in the worker
thread that runs it: a client that got a 201 knows the redemption is durable, and the write lock
(SQLite) or row lock (PostgreSQL, MariaDB) is never held while the route waits for another
thread-pool slot to serialise its response — under 200 concurrent requests that wait starved the
pool and deadlocked until the busy timeout.

Answers are read from the domain's results with ``model_validate`` (``from_attributes``), never
copied field by field: a schema's field is named like the attribute it reads, or names that
attribute with ``validation_alias``.
"""

from __future__ import annotations

from fastapi import APIRouter

from soloist.api.loyalty import members, programme, report

router = APIRouter()
router.include_router(members.router)
router.include_router(programme.router)
router.include_router(report.router)

__all__ = ["router"]
