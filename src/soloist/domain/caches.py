"""The in-process caches of derived figures, and the one way to drop them all.

The caches key on the data's version (newest ids and counts); that never goes backwards in a
running workspace, but it does when a database is emptied or restored — then call
:func:`clear_derived_caches`.
"""

from __future__ import annotations


def clear_derived_caches() -> None:
    from soloist.domain import dashboard
    from soloist.domain.customers import listing as customer_list
    from soloist.domain.scoring import scores

    with scores._runs_lock:
        scores._runs_cache.clear()
    with customer_list._count_lock:
        customer_list._count_cache.clear()
    dashboard._cache.clear()
    dashboard._latest.clear()
