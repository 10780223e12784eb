"""The in-process caches of derived figures, and the one way to drop them all.

The dashboard, the customer list's counts and the current model runs are cached in
:class:`soloist.storage.caches.VersionedCache` instances keyed on the data's version (newest
ids and counts). That never goes backwards in a running workspace, but it does when a database
is emptied or restored — then call :func:`clear_derived_caches`.
"""

from __future__ import annotations

from soloist.storage.caches import clear_all_caches


def clear_derived_caches() -> None:
    """Forget every cached derived figure (after emptying or restoring a database)."""
    clear_all_caches()
