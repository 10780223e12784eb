"""The version-keyed cache every derived figure (dashboard, list counts, current runs) sits in."""

from __future__ import annotations

import doctest
import threading

import pytest

from soloist.storage import caches
from soloist.storage.caches import VersionedCache, clear_all_caches


def test_a_value_is_found_again_under_the_same_key_and_version() -> None:
    cache: VersionedCache[str, int] = VersionedCache("test", maxsize=4)
    cache.put("shop", (7, 2), 100)
    assert cache.get("shop", (7, 2)) == 100


def test_a_new_version_misses_but_latest_still_has_the_previous_value() -> None:
    cache: VersionedCache[str, int] = VersionedCache("test", maxsize=4)
    cache.put("shop", 1, 100)
    assert cache.get("shop", 2) is None
    assert cache.get("other", 1) is None
    assert cache.latest("shop") == 100
    cache.put("shop", 2, 200)
    assert cache.latest("shop") == 200
    assert cache.get("shop", 1) == 100  # an older version stays until it is evicted


def test_the_least_recently_used_entry_goes_first_beyond_maxsize() -> None:
    cache: VersionedCache[str, int] = VersionedCache("test", maxsize=2)
    cache.put("a", 1, 1)
    cache.put("b", 1, 2)
    assert cache.get("a", 1) == 1  # "a" is now the most recently used
    cache.put("c", 1, 3)
    assert len(cache) == 2
    assert cache.get("b", 1) is None
    assert (cache.get("a", 1), cache.get("c", 1)) == (1, 3)
    assert cache.latest("b") is None  # latest values are bounded by as many keys


def test_get_or_compute_computes_once_per_key_and_version() -> None:
    cache: VersionedCache[str, int] = VersionedCache("test", maxsize=4)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get_or_compute("k", 1, compute) == 1
    assert cache.get_or_compute("k", 1, compute) == 1
    assert cache.get_or_compute("k", 2, compute) == 2
    assert len(calls) == 2


def test_get_or_extend_brings_the_latest_value_up_to_date_or_rebuilds_it() -> None:
    cache: VersionedCache[str, list[int]] = VersionedCache("rows", maxsize=2)
    rebuilt: list[int] = []

    def rebuild(rows: list[int]) -> list[int]:
        rebuilt.append(len(rows))
        return list(rows)

    def appended(previous: list[int], rows: list[int]) -> list[int] | None:
        return previous + rows[len(previous) :] if rows[: len(previous)] == previous else None

    rows = [1, 2]
    first = cache.get_or_extend("a", 1, lambda p: appended(p, rows), lambda: rebuild(rows))
    assert first == [1, 2]
    assert rebuilt == [2]  # nothing kept yet: rebuilt
    assert cache.get_or_extend("a", 1, lambda p: None, lambda: []) is first  # kept at 1
    rows = [1, 2, 3]
    assert cache.get_or_extend("a", 2, lambda p: appended(p, rows), lambda: rebuild(rows)) == rows
    assert rebuilt == [2]  # extended, not rebuilt
    rows = [9, 3]  # the rows kept were changed: cannot be extended
    assert cache.get_or_extend("a", 3, lambda p: appended(p, rows), lambda: rebuild(rows)) == rows
    assert rebuilt == [2, 2]


def test_clear_all_caches_empties_every_cache_in_the_process() -> None:
    first: VersionedCache[str, int] = VersionedCache("first", maxsize=4)
    second: VersionedCache[str, str] = VersionedCache("second", maxsize=4)
    first.put("k", 1, 1)
    second.put("k", 1, "one")
    clear_all_caches()
    assert (len(first), len(second)) == (0, 0)
    assert first.latest("k") is None
    assert second.latest("k") is None


def test_a_cache_nobody_holds_any_more_leaves_the_registry() -> None:
    cache: VersionedCache[str, int] = VersionedCache("short-lived", maxsize=1)
    assert cache in set(caches._caches)
    del cache
    assert all(c.name != "short-lived" for c in caches._caches)


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        VersionedCache("test", maxsize=0)


def test_concurrent_readers_and_writers_keep_the_bound_and_the_values() -> None:
    cache: VersionedCache[int, int] = VersionedCache("test", maxsize=32)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(2000):
                key = (worker * 7 + i) % 50
                value = cache.get_or_compute(key, i % 3, lambda k=key, v=i % 3: k * 10 + v)
                assert value == key * 10 + i % 3
                if i % 97 == 0:
                    cache.clear()
                assert len(cache) <= 32
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 32


def test_the_docstring_example_runs() -> None:
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner()
    for test in finder.find(caches):
        runner.run(test)
    assert runner.failures == 0
    assert runner.tries > 0
