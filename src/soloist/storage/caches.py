"""In-process caches of figures derived from the database, keyed on the data's version.

A :class:`VersionedCache` holds a value per ``(key, version)``: the key says *what* was computed
(a database URL, a currency, a filter …), the version says *from which data* (the newest ids and
counts, read with one cheap query). A lookup with a newer version misses, so nothing has to
invalidate anything when data changes. The cache keeps the ``maxsize`` most recently used
entries and, for each key, the newest value stored under any version (:meth:`latest`), which
lets a page show the previous figures while new ones are computed.

Versions never go backwards in a running workspace, but they do when a database is emptied or
restored (and ids start again): then :func:`clear_all_caches` empties every cache in the
process.

A cache made with ``kept=True`` holds figures worth keeping across a restart (the overview
pages'): :func:`kept_caches` lists them, :meth:`VersionedCache.snapshot` gives each key's latest
value with its version and :meth:`VersionedCache.restore` puts them back
(:mod:`soloist.storage.kept` writes them to an encrypted file).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_caches: weakref.WeakSet[VersionedCache[Any, Any]] = weakref.WeakSet()
_caches_lock = threading.Lock()


class VersionedCache(Generic[K, V]):
    """A thread-safe, size-bounded map from ``(key, version)`` to a value.

    Parameters
    ----------
    name:
        What the cache holds, for ``repr`` and debugging.
    maxsize:
        How many ``(key, version)`` entries to keep; the least recently used go first. The
        :meth:`latest` values are bounded by the same number of keys.

    Examples
    --------
    >>> cache: VersionedCache[str, int] = VersionedCache("example", maxsize=2)
    >>> cache.get_or_compute("a", 1, lambda: 10)
    10
    >>> cache.get("a", 2) is None, cache.latest("a")
    (True, 10)
    """

    def __init__(self, name: str, *, maxsize: int, kept: bool = False) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.name = name
        self.maxsize = maxsize
        self.kept = kept
        self._entries: OrderedDict[tuple[K, Hashable], V] = OrderedDict()
        self._latest: OrderedDict[K, tuple[Hashable, V]] = OrderedDict()
        self._stored = 0  # how many values were ever put: whether a snapshot is out of date
        self._lock = threading.Lock()
        with _caches_lock:
            _caches.add(self)

    def __repr__(self) -> str:
        return f"VersionedCache({self.name!r}, maxsize={self.maxsize}, entries={len(self)})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: K, version: Hashable) -> V | None:
        """The value stored for ``key`` at exactly ``version``, or ``None``."""
        with self._lock:
            slot = (key, version)
            if slot not in self._entries:
                return None
            self._touch(slot)
            return self._entries[slot]

    def latest(self, key: K) -> V | None:
        """The value stored last for ``key``, whatever its version, or ``None``."""
        with self._lock:
            latest = self._latest.get(key)
        return None if latest is None else latest[1]

    def put(self, key: K, version: Hashable, value: V) -> None:
        """Store ``value`` for ``key`` at ``version``; it also becomes ``key``'s latest value."""
        with self._lock:
            self._entries[(key, version)] = value
            self._entries.move_to_end((key, version))
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            self._latest[key] = (version, value)
            self._latest.move_to_end(key)
            self._stored += 1
            while len(self._latest) > self.maxsize:
                self._latest.popitem(last=False)

    def get_or_compute(self, key: K, version: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, or ``compute()`` stored and returned.

        ``compute`` runs outside the lock (it queries a database): two threads that miss at
        the same time both compute, and the second result is the one kept.
        """
        with self._lock:
            slot = (key, version)
            if slot in self._entries:
                self._touch(slot)
                return self._entries[slot]
        value = compute()
        self.put(key, version, value)
        return value

    def get_or_extend(
        self,
        key: K,
        version: Hashable,
        extend: Callable[[V], V | None],
        rebuild: Callable[[], V],
    ) -> V:
        """The cached value at ``version``; else the latest earlier one brought up to date by
        ``extend`` (None when it cannot be: a deletion, too much changed), else ``rebuild()``;
        stored and returned. For values that follow the data cheaply (a sort order, columns
        of rows), where adding the rows since beats reading them all again."""
        current = self.get(key, version)
        if current is not None:
            return current
        previous = self.latest(key)
        value = extend(previous) if previous is not None else None
        if value is None:
            value = rebuild()
        self.put(key, version, value)
        return value

    def _touch(self, slot: tuple[K, Hashable]) -> None:
        """Mark ``slot`` (and its key's latest value) most recently used; under the lock."""
        self._entries.move_to_end(slot)
        if slot[0] in self._latest:
            self._latest.move_to_end(slot[0])

    def clear(self) -> None:
        """Forget every entry and every latest value."""
        with self._lock:
            self._entries.clear()
            self._latest.clear()
            self._stored += 1

    @property
    def stored(self) -> int:
        """How many times a value was stored (or the cache emptied): a snapshot taken when
        this was lower is out of date."""
        with self._lock:
            return self._stored

    def snapshot(self) -> list[tuple[K, Hashable, V]]:
        """Each key's latest value with the version it was computed at, oldest used first."""
        with self._lock:
            return [(key, version, value) for key, (version, value) in self._latest.items()]

    def restore(self, entries: list[tuple[K, Hashable, V]]) -> None:
        """Put back what :meth:`snapshot` gave (keys that already hold a value keep theirs)."""
        for key, version, value in entries:
            with self._lock:
                if key in self._latest:
                    continue
            self.put(key, version, value)


def kept_caches() -> dict[str, VersionedCache[Any, Any]]:
    """The caches made with ``kept=True``, by name."""
    with _caches_lock:
        return {cache.name: cache for cache in _caches if cache.kept}


def clear_all_caches() -> None:
    """Empty every :class:`VersionedCache` of the process (after a database is emptied or
    restored, when versions can repeat with other data)."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
