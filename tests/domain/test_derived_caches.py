"""The derived figures' caches: reused while the data stays the same, recomputed when it changes,
and dropped all at once by ``clear_derived_caches``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import soloist.domain.caches as caches_module
import soloist.domain.dashboard as dashboard_module
from soloist.domain.caches import (
    cached_or_started,
    clear_derived_caches,
    computations_under_way,
    current_or_previous,
    current_or_previous_within,
    stale_while_revalidate,
)
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.dashboard import dashboard
from soloist.domain.scoring.scores import current_runs
from soloist.storage.caches import VersionedCache
from soloist.storage.database import Database
from soloist.storage.kept import load_kept_figures, save_kept_figures
from soloist.storage.models import CustomerScore, ModelRun
from soloist.storage.types import utcnow


def _add_customer(database: Database, name: str) -> None:
    with database.session() as session:
        create_customer(session, CustomerCreate(name=name), "test")


def _wait_until_fresh(database: Database) -> dashboard_module.Dashboard:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.read_session() as session:
            board = dashboard(session, "EUR", database)
        if not board.stale:
            break
        time.sleep(0.05)
    return board


def test_the_dashboard_is_reused_until_the_data_changes(sqlite_database: Database) -> None:
    _add_customer(sqlite_database, "Ada")
    with sqlite_database.read_session() as session:
        first = dashboard(session, "EUR")
        assert dashboard(session, "EUR") is first
        assert first.customers == 1
    _add_customer(sqlite_database, "Bo")
    with sqlite_database.read_session() as session:
        second = dashboard(session, "EUR")
    assert second is not first
    assert second.customers == 2


def test_after_a_change_the_previous_dashboard_is_shown_stale_while_it_is_recomputed(
    sqlite_database: Database,
) -> None:
    _add_customer(sqlite_database, "Ada")
    with sqlite_database.read_session() as session:
        assert not dashboard(session, "EUR", sqlite_database).stale
    _add_customer(sqlite_database, "Bo")
    with sqlite_database.read_session() as session:
        stale = dashboard(session, "EUR", sqlite_database)
    assert (stale.stale, stale.customers) == (True, 1)
    board = _wait_until_fresh(sqlite_database)
    assert (board.stale, board.customers) == (False, 2)


def test_a_slow_dashboard_is_not_recomputed_sooner_than_a_few_times_its_duration(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a stream of live orders a slow board would be recomputed without pause, taking a
    core from the requests; a slow one waits RECOMPUTE_GAP_FACTOR times its duration."""
    monkeypatch.setattr(caches_module, "THROTTLE_FROM_SECONDS", 0.0)  # every board is slow
    monkeypatch.setattr(caches_module, "RECOMPUTE_GAP_FACTOR", 1e9)
    _add_customer(sqlite_database, "Ada")
    with sqlite_database.read_session() as session:
        assert dashboard(session, "EUR", sqlite_database).customers == 1
    for name in ("Bo", "Cy"):
        _add_customer(sqlite_database, name)
        with sqlite_database.read_session() as session:
            held = dashboard(session, "EUR", sqlite_database)
        assert (held.stale, held.customers) == (True, 1)
        assert "dashboards" not in computations_under_way()  # no recomputation was started
    monkeypatch.setattr(caches_module, "RECOMPUTE_GAP_FACTOR", 0.0)  # the gap has passed
    board = _wait_until_fresh(sqlite_database)
    assert (board.stale, board.customers) == (False, 3)


def test_clear_derived_caches_forgets_the_previous_dashboard(sqlite_database: Database) -> None:
    with sqlite_database.read_session() as session:
        dashboard(session, "EUR", sqlite_database)
    _add_customer(sqlite_database, "Ada")
    clear_derived_caches()
    with sqlite_database.read_session() as session:
        board = dashboard(session, "EUR", sqlite_database)
    assert (board.stale, board.customers) == (False, 1)


def test_after_a_restart_the_kept_dashboard_is_shown_at_once_while_it_is_recomputed(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """`soloist serve` saves the overview figures and reads them back at its next start: the
    first view after a restart shows them (marked) instead of waiting for a recomputation."""
    _add_customer(sqlite_database, "Ada")
    with sqlite_database.read_session() as session:
        assert dashboard(session, "EUR", sqlite_database).customers == 1
    kept_file = tmp_path / "kept-figures.bin"
    save_kept_figures(kept_file, sqlite_database.keyring, sqlite_database.url)
    clear_derived_caches()  # the server stops
    _add_customer(sqlite_database, "Bo")  # meanwhile the data change
    assert load_kept_figures(kept_file, sqlite_database.keyring, sqlite_database.url) >= 1
    with sqlite_database.read_session() as session:
        kept = dashboard(session, "EUR", sqlite_database)
    assert (kept.stale, kept.customers) == (True, 1)
    board = _wait_until_fresh(sqlite_database)
    assert (board.stale, board.customers) == (False, 2)


def test_current_runs_follow_a_run_once_it_finishes(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Ada"), "test")
        assert current_runs(session) == {}
        run = ModelRun(kind="clv", status="running", params={}, metrics={})
        session.add(run)
        session.flush()
        session.add(CustomerScore(model_run_id=run.id, customer_id=customer.id, clv_12m_minor=5))
        session.flush()
        assert current_runs(session) == {}  # a running run is not current yet
        run.status, run.finished_at = "succeeded", utcnow()
        session.flush()
        assert current_runs(session) == {"clv_12m_minor": run.id}


@dataclass
class _SlowValue:
    """A value that takes until ``release`` is set to compute; ``computed`` counts the runs."""

    value: int
    release: threading.Event = field(default_factory=threading.Event)
    computed: list[int] = field(default_factory=list)

    def compute(self, _session: Session) -> int:
        self.computed.append(1)
        self.release.wait(timeout=10)
        return self.value


def test_the_first_value_is_computed_once_however_many_ask_at_once(
    sqlite_database: Database,
) -> None:
    cache: VersionedCache[str, int] = VersionedCache("test first value", maxsize=2)
    slow = _SlowValue(42)
    answers: list[int] = []

    def ask() -> None:
        with sqlite_database.read_session() as session:
            answers.append(stale_while_revalidate(cache, session, "k", 1, slow.compute))

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for asker in askers:
        asker.start()
    time.sleep(0.3)  # all three are waiting on the one computation
    slow.release.set()
    for asker in askers:
        asker.join(timeout=10)
    assert answers == [42, 42, 42]
    assert slow.computed == [1]


def test_a_page_that_does_not_wait_gets_none_until_the_first_value_is_ready(
    sqlite_database: Database,
) -> None:
    cache: VersionedCache[str, int] = VersionedCache("test not waiting", maxsize=2)
    slow = _SlowValue(7)
    with sqlite_database.read_session() as session:
        assert cached_or_started(cache, session, "k", 1, slow.compute) is None
        assert cached_or_started(cache, session, "k", 1, slow.compute) is None  # started once
        slow.release.set()
        deadline = time.monotonic() + 10
        while cached_or_started(cache, session, "k", 1, slow.compute) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert cached_or_started(cache, session, "k", 1, slow.compute) == 7
    assert slow.computed == [1]


def test_the_first_value_is_waited_for_only_so_long(sqlite_database: Database) -> None:
    """A page waits a few seconds at most for its very first figures, then says they are being
    worked out (None); a quick value is there at once."""
    cache: VersionedCache[str, int] = VersionedCache("test waiting so long", maxsize=4)
    slow = _SlowValue(7)
    with sqlite_database.read_session() as session:
        assert current_or_previous_within(cache, session, "k", 1, slow.compute, 0.05) == (
            None,
            True,
        )
        assert current_or_previous_within(cache, session, "k", 1, slow.compute, 0.05) == (
            None,
            True,
        )  # still the one computation
        slow.release.set()
        assert current_or_previous_within(cache, session, "k", 1, slow.compute, 10) == (7, False)
        quick = current_or_previous_within(cache, session, "q", 1, lambda _s: 3, 10)
        assert quick == (3, False)
        assert current_or_previous_within(cache, session, "k", 2, lambda _s: 8, 10) == (7, True)
    assert slow.computed == [1]


def test_current_or_previous_says_when_the_value_is_an_earlier_versions(
    sqlite_database: Database,
) -> None:
    cache: VersionedCache[str, int] = VersionedCache("test current or previous", maxsize=4)
    with sqlite_database.read_session() as session:
        assert current_or_previous(cache, session, "k", 1, lambda _s: 10) == (10, False)
        assert current_or_previous(cache, session, "k", 2, lambda _s: 20) == (10, True)
        deadline = time.monotonic() + 10
        while current_or_previous(cache, session, "k", 2, lambda _s: 20) != (20, False):
            assert time.monotonic() < deadline
            time.sleep(0.01)
