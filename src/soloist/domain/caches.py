"""The in-process caches of derived figures, and the one way to drop them all.

The dashboard, the customer list's counts and the current model runs are cached in
:class:`soloist.storage.caches.VersionedCache` instances keyed on the data's version (newest
ids and counts). That never goes backwards in a running workspace, but it does when a database
is emptied or restored — then call :func:`clear_derived_caches`.

:func:`stale_while_revalidate` serves what takes seconds to compute (the recommender, the
sentiment scorer): the previous value answers at once while a background thread computes the
new one, and the first value is computed once however many ask for it at the same time.
:func:`cached_or_started` never waits: a page that can do without the value (the customer
page's recommendations) gets None until the first one is ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from soloist.storage.caches import VersionedCache, clear_all_caches

V = TypeVar("V")
log = logging.getLogger(__name__)
_running: dict[tuple[str, Hashable], threading.Event] = {}  # computations under way
_running_lock = threading.Lock()


def clear_derived_caches() -> None:
    """Forget every cached derived figure (after emptying or restoring a database)."""
    clear_all_caches()


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
        return cache.get_or_compute(key, version, lambda: compute(session))
    try:
        return cache.get_or_compute(key, version, lambda: compute(session))
    finally:
        with _running_lock:
            _running.pop(slot, None)
        done.set()


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


def _start_computing(
    cache: VersionedCache[Any, V],
    session: Session,
    key: Hashable,
    version: Hashable,
    compute: Callable[[Session], V],
) -> None:
    """Compute ``key``'s value at ``version`` on a background thread with its own session,
    unless one is already computing a value of that cache and key."""
    slot = (cache.name, key)
    with _running_lock:
        if slot in _running:
            return
        done = _running[slot] = threading.Event()
    engine = session.get_bind().engine

    def work() -> None:
        try:
            with Session(engine) as own:
                cache.get_or_compute(key, version, lambda: compute(own))
        except Exception:  # the previous value stays; the next ask tries again
            log.exception("recomputing %s failed", cache.name)
        finally:
            with _running_lock:
                _running.pop(slot, None)
            done.set()

    threading.Thread(target=work, name=f"soloist-{cache.name}", daemon=True).start()
