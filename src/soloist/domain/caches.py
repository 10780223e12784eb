"""The in-process caches of derived figures, and the one way to drop them all.

The dashboard, the customer list's counts and the current model runs are cached in
:class:`soloist.storage.caches.VersionedCache` instances keyed on the data's version (newest
ids and counts). That never goes backwards in a running workspace, but it does when a database
is emptied or restored — then call :func:`clear_derived_caches`.

:func:`stale_while_revalidate` serves what takes seconds to compute (the recommender, the
sentiment scorer): the previous value answers at once while a background thread computes the
new one, and the first value is computed once however many ask for it at the same time.
:func:`current_or_previous` does the same and says whether the value is the previous one (a
page then marks its figures as being updated); :func:`current_or_previous_within` waits only
so long for the very first value. :func:`cached_or_started` never waits: a page
that can do without the value (the customer page's recommendations) gets None until the first
one is ready.

A slow value is not recomputed back to back: after a computation that took at least
:data:`THROTTLE_FROM_SECONDS`, the next one starts only once :data:`RECOMPUTE_GAP_FACTOR` times
as long has passed since it finished. Under a stream of live orders the figures then lag by at
most that gap, and recomputing takes a fifth of a core instead of all of it, which had slowed
every order posted meanwhile (BENCHMARKS.md). Values that compute in milliseconds are never held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from soloist.storage.caches import VersionedCache, clear_all_caches
from soloist.storage.database import Database
from soloist.storage.types import utcnow

V = TypeVar("V")
log = logging.getLogger(__name__)
_running: dict[tuple[str, Hashable], threading.Event] = {}  # computations under way
_running_lock = threading.Lock()
#: (cache name, key) -> (time.monotonic() when its last computation finished, how long it took)
_last_computed: dict[tuple[str, Hashable], tuple[float, float]] = {}

#: (database URL, condition name) -> (the newest id read, the newest meeting the condition)
_newest_ids: VersionedCache[tuple[str, str], tuple[Any, Any]] = VersionedCache(
    "newest ids", maxsize=256
)

THROTTLE_FROM_SECONDS = 0.5
RECOMPUTE_GAP_FACTOR = 4.0


def clear_derived_caches() -> None:
    """Forget every cached derived figure (after emptying or restoring a database)."""
    clear_all_caches()
    with _running_lock:
        _last_computed.clear()


def stale_while_revalidate(
    cache: VersionedCache[Any, V],
    session: Session,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
) -> V:
    """``cache``'s value for ``key`` at ``version``; computed now when there is none at all
    (or, when another thread is computing the first one, that one waited for), else the newest
    earlier value, while one background thread (per cache and key) computes this version's
    with its own session."""
    cached = cache.get(key, version)
    if cached is not None:
        return cached
    previous = cache.latest(key)
    if previous is not None:
        _start_computing(cache, session, key, version, compute)
        return previous
    slot = (cache.name, key)
    with _running_lock:
        running = _running.get(slot)
        if running is None:
            done = _running[slot] = threading.Event()
    if running is not None:  # one computation at a time: a second would double the wait
        running.wait()
        value = cache.latest(key)
        if value is not None:
            return value
        return _timed(cache, key, version, lambda: compute(session))
    try:
        return _timed(cache, key, version, lambda: compute(session))
    finally:
        with _running_lock:
            _running.pop(slot, None)
        done.set()


def inputs_version(session: Session, *aggregates: Any) -> tuple[Any, ...]:
    """A version of figures read from the tables of ``aggregates`` (``func.max(Order.id)``,
    ``func.count(...)``): their values, read in one statement, and the hour, as figures whose
    windows end now change with time too. Updates that keep the ids (a refund, a settings
    change) are audited, so pass the audit log's newest id among them."""
    newest = session.execute(
        select(*(select(aggregate).scalar_subquery() for aggregate in aggregates))
    ).one()
    return (*newest, utcnow().strftime("%Y-%m-%d %H"))


def newest_id_where(
    session: Session, id_column: Any, condition: ColumnElement[bool], name: str
) -> int | None:
    """The newest id among the rows of ``id_column``'s table that meet ``condition`` (named
    ``name``, unique per condition), found by reading only the rows added since the last call:
    a version of figures over a window that has ended (a report's month) that rows arriving
    after the window (today's orders) leave unchanged. Ids must only grow; a row that another
    transaction commits under a smaller id than one already read is not seen, so pair it with
    :func:`inputs_version`'s hour."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (url, name)
    top = session.scalar(select(func.max(id_column)))
    mark = _newest_ids.latest(key)
    if mark is not None and mark[0] == top:
        return mark[1]
    if mark is None or mark[0] is None:  # newest first: only the rows after the window are read
        newest = session.scalar(
            select(id_column).where(condition).order_by(id_column.desc()).limit(1)
        )
    else:
        found = session.scalar(select(func.max(id_column)).where(id_column > mark[0], condition))
        newest = mark[1] if found is None else found
    _newest_ids.put(key, top, (top, newest))
    return newest


def current_or_previous(
    cache: VersionedCache[Any, V],
    session: Session,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
) -> tuple[V, bool]:
    """:func:`stale_while_revalidate`'s value and whether it is an earlier version's (then a
    background thread is computing this version's, or will once the throttle allows)."""
    value = stale_while_revalidate(cache, session, key, version, compute)
    return value, cache.get(key, version) is not value


def current_or_previous_within(
    cache: VersionedCache[Any, V],
    session: Session,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
    wait: float,
) -> tuple[V | None, bool]:
    """:func:`current_or_previous`, but the first value of all is waited for at most ``wait``
    seconds (it is computed on a background thread): ``(None, True)`` when it is not ready by
    then, so that a page can say it is being worked out instead of keeping the browser
    waiting for half a minute."""
    cached = cache.get(key, version)
    if cached is not None:
        return cached, False
    previous = cache.latest(key)
    _start_computing(cache, session, key, version, compute)
    if previous is not None:
        return previous, True
    with _running_lock:
        running = _running.get((cache.name, key))
    if running is not None:
        running.wait(wait)
    value = cache.get(key, version)
    if value is not None:
        return value, False
    return cache.latest(key), True


def cached_or_started(
    cache: VersionedCache[Any, V],
    session: Session,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
) -> V | None:
    """``cache``'s value for ``key`` at ``version``, else the newest earlier one, else None:
    never waits. Unless it was the current value, one background thread (per cache and key)
    computes this version's with its own session."""
    cached = cache.get(key, version)
    if cached is not None:
        return cached
    _start_computing(cache, session, key, version, compute)
    return cache.latest(key)


def start_computing(
    cache: VersionedCache[Any, V],
    engine: Engine,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
) -> None:
    """Compute ``key``'s value at ``version`` on a background thread with its own session,
    unless it is there already (kept from the last run), one is already computing a value of
    that cache and key, or the last one was slow and finished too recently."""
    if cache.get(key, version) is not None:
        return
    slot = (cache.name, key)
    with _running_lock:
        if slot in _running or _held_back(slot):
            return
        done = _running[slot] = threading.Event()

    def work() -> None:
        try:
            with Session(engine) as own:
                _timed(cache, key, version, lambda: compute(own))
        except Exception:  # the previous value stays; the next ask tries again
            log.exception("recomputing %s failed", cache.name)
        finally:
            with _running_lock:
                _running.pop(slot, None)
            done.set()

    threading.Thread(target=work, name=f"soloist-{cache.name}", daemon=True).start()


def warm_in_background(database: Database, name: str, *steps: Callable[[Session], object]) -> None:
    """Run ``steps`` one after the other on a background thread, in a read session of their
    own, so that figures that take seconds on a large workspace are ready before the first
    page asks (``soloist serve`` does at start). A step that fails is logged and skipped: the
    page computes its figures itself when asked. A step that found figures kept from the last
    run returns at once and has them recomputed on a thread of its own: the next step waits
    for that, so that the start-up computations still run one at a time."""

    def work() -> None:
        for step in steps:
            try:
                with database.read_session() as session:
                    step(session)
            except Exception:
                log.exception("warming %s failed", name)
            with _running_lock:
                under_way = list(_running.values())
            for done in under_way:
                done.wait()

    threading.Thread(target=work, name=f"soloist-warm-{name}", daemon=True).start()


def computations_under_way() -> list[str]:
    """The names of the caches a value is being computed for right now."""
    with _running_lock:
        return sorted({name for name, _ in _running})


def _start_computing(
    cache: VersionedCache[Any, V],
    session: Session,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
) -> None:
    start_computing(cache, session.get_bind().engine, key, version, compute)


def _timed(
    cache: VersionedCache[Any, V], key: Hashable, version: Hashable, compute: Callable[[], V]
) -> V:
    """``cache.get_or_compute``, noting how long a computation took for the throttle."""

    def measured() -> V:
        started = time.monotonic()
        value = compute()
        finished = time.monotonic()
        with _running_lock:
            _last_computed[(cache.name, key)] = (finished, finished - started)
        return value

    return cache.get_or_compute(key, version, measured)


def _held_back(slot: tuple[str, Hashable]) -> bool:
    last = _last_computed.get(slot)
    if last is None:
        return False
    finished, took = last
    return (
        took >= THROTTLE_FROM_SECONDS and time.monotonic() - finished < RECOMPUTE_GAP_FACTOR * took
    )
