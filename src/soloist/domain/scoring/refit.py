"""Every analysis of ``soloist analyze`` and of the nightly refit, the churn model beside the rest.

The purchase models come first and the segments after them (a cluster is described by its
customers' CLV, read from the run just stored). The churn model reads only the orders, the
subscriptions and the feedback, so on a machine with more than one core it is fitted at the
same time, in a process of its own: the fits hold Python's lock for much of their time, so two
threads would mostly take turns. The process opens the workspace's database itself, reports
its progress and its outcome through a queue, and writes its run in a transaction of its own,
as it would one after the other. On a single core, an in-memory database, or without a
:class:`~soloist.storage.database.Database` (a test's bare session) they run one after another.

Once an analysis has stored its run, the scores of its runs past keeping are deleted in the same
transaction (:mod:`~soloist.domain.scoring.kept_scores`). If the purchase models fail, the churn
process is stopped before it stores anything and the error is raised, as when the analyses ran
in turn; a failed segments or churn run is reported as such and the other kept.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import signal
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain._progress import Progress, no_progress
from soloist.domain.scoring.clv import AnalyzeOptions
from soloist.domain.scoring.kept_scores import drop_old_scores
from soloist.errors import SoloistError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from soloist.storage.database import Database
    from soloist.storage.models import ModelRun

#: How often the parent looks whether a churn process that has said nothing is still alive.
POLL_S = 0.5
#: How long a stopped churn process gets to end before it is killed.
STOP_GRACE_S = 10.0
#: How long the analyses side by side wait for SQLite's write lock: each other's writing of a
#: million customers' scores takes tens of seconds, longer than the usual busy timeout.
PATIENT_BUSY_TIMEOUT_MS = 600_000

Analysis = Callable[[Session, Session, Progress], "ModelRun"]


@dataclass
class Analyses:
    """The purchase models' run and what followed it (``{"id", "kind", "status"}``, or
    ``{"kind", "status": "failed", "error"}``), segments first."""

    clv: ModelRun
    followed_by: list[dict[str, Any]] = field(default_factory=list)

    @property
    def any_failed(self) -> bool:
        return any(f["status"] == "failed" for f in self.followed_by)


def side_by_side_possible(database: Database | None) -> bool:
    """Whether a second process may run an analysis here: the workspace allows it
    (``analyses_side_by_side``), the machine has more than one core for this process, and
    another process can open the database (not SQLite in memory)."""
    if database is None or not database.settings.analyses_side_by_side:
        return False
    from soloist.analytics._math import available_cores

    url = database.engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    return available_cores() > 1 and not in_memory


def run_analyses(
    database: Database | None,
    currency: str,
    actor: str,
    options: AnalyzeOptions,
    *,
    clv_only: bool = False,
    session: Session | None = None,
    progress: Mapping[str, Progress] | None = None,
    side_by_side: bool | None = None,
) -> Analyses:
    """Fit the purchase models, then the segments and the churn risk (not with ``clv_only``).

    Each analysis reads and fits with no write lock held and writes in a short transaction at
    the end (on SQLite live orders would otherwise wait the whole fit), through ``database``;
    without one, everything goes through ``session``. ``progress`` maps ``"clv"``,
    ``"segments"`` and ``"churn"`` to where each reports. ``side_by_side`` (default: when
    :func:`side_by_side_possible`) fits the churn model in a process of its own meanwhile.
    """
    told = progress or {}
    if side_by_side is None:
        side_by_side = side_by_side_possible(database)
    if not side_by_side or database is None or clv_only:
        return _analysed(database, currency, actor, options, None, clv_only, session, told)
    from soloist.storage.database import Database

    patient = Database(_patient(database.settings), keyring=database.keyring)
    churn = _ChurnProcess(patient.settings, currency, actor, options, told.get("churn"))
    try:
        return _analysed(patient, currency, actor, options, churn, clv_only, session, told)
    finally:
        churn.stop()  # at once if the others failed; after its outcome, nothing left to stop
        patient.dispose()


def _patient(settings: Settings) -> Settings:
    wait = max(settings.sqlite_busy_timeout_ms, PATIENT_BUSY_TIMEOUT_MS)
    return settings.model_copy(update={"sqlite_busy_timeout_ms": wait})


def _analysed(
    database: Database | None,
    currency: str,
    actor: str,
    options: AnalyzeOptions,
    churn_elsewhere: _ChurnProcess | None,
    clv_only: bool,
    session: Session | None,
    told: Mapping[str, Progress],
) -> Analyses:
    from soloist.domain.scoring.clv import analyze_workspace
    from soloist.domain.scoring.segments import segment_customers
    from soloist.domain.scoring.shared_orders import paid_orders_shared

    def fitted(kind: str, analysis: Analysis) -> ModelRun:
        report = told.get(kind, no_progress)
        if database is None:
            assert session is not None, "run_analyses needs a database or a session"
            return analysis(session, session, report)
        with database.reader_and_writer() as (reader, store):
            run = analysis(reader, store, report)
            drop_old_scores(store, run.kind, database.settings.score_runs_kept, actor)
            return run

    with paid_orders_shared():
        clv = fitted(
            "clv",
            lambda read, store, report: analyze_workspace(
                read, currency, actor, options, progress=report, store=store
            ),
        )
        result = Analyses(clv=clv)
        if clv_only:
            return result

        def followed(kind: str, analysis: Analysis) -> dict[str, Any]:
            try:
                run = fitted(kind, analysis)
            except SoloistError as exc:
                return {"kind": kind, "status": "failed", "error": exc.message}
            return {"id": run.id, "kind": run.kind, "status": run.status}

        segments = followed(
            "segments",
            lambda read, store, report: segment_customers(
                read, currency, actor, "kmeans", observation_end=options.observation_end,
                progress=report, rates=options.rates, store=store,
            ),
        )  # fmt: skip
        result.followed_by.append(segments)
        result.followed_by.append(
            churn_elsewhere.outcome()
            if churn_elsewhere is not None
            else followed(
                "churn",
                lambda read, store, report: _churn(read, store, report, currency, actor, options),
            )
        )
    return result


def _churn(
    read: Session, store: Session, report: Progress, currency: str, actor: str,
    options: AnalyzeOptions,
) -> ModelRun:  # fmt: skip
    from soloist.domain.scoring.churn import score_churn_risk

    return score_churn_risk(
        read, currency, actor, horizon_days=90, observation_end=options.observation_end,
        progress=report, rates=options.rates, store=store,
    )  # fmt: skip


class _ChurnProcess:
    """The churn model fitted and stored in a process of its own, its progress relayed here."""

    def __init__(
        self,
        settings: Settings,
        currency: str,
        actor: str,
        options: AnalyzeOptions,
        progress: Progress | None,
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of this process's threads
        self._messages: Any = context.Queue()
        self._progress = progress or no_progress
        self._result: dict[str, Any] | None = None
        self._process: BaseProcess = context.Process(
            target=_churn_in_child,
            args=(settings, currency, actor, options, self._messages),
            name="soloist-churn",
            # Not a daemon: joblib runs nothing in parallel inside a daemon (the random forest
            # would be fitted on one thread, and say so on stderr). It is stopped in any case.
            daemon=False,
        )
        self._process.start()
        self._relay = threading.Thread(target=self._relay_messages, daemon=True)
        self._relay.start()

    def _relay_messages(self) -> None:
        while True:
            try:
                message = self._messages.get(timeout=POLL_S)
            except queues.Empty:
                if not self._process.is_alive():
                    return
                continue
            if message[0] == "progress":
                self._progress(*message[1:])
            else:
                self._result = message[1]
                return

    def outcome(self) -> dict[str, Any]:
        """Wait for the process and say how its run ended."""
        self._relay.join()
        self._process.join()
        if self._result is not None:
            return self._result
        return {
            "kind": "churn",
            "status": "failed",
            "error": f"The churn model's process stopped (exit code {self._process.exitcode}).",
        }

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()  # its write transaction, if begun, is rolled back
            self._process.join(STOP_GRACE_S)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._relay.join()


def _churn_in_child(
    settings: Settings, currency: str, actor: str, options: AnalyzeOptions, messages: Any
) -> None:
    """The churn process: open the database, fit and store, send the outcome."""
    from soloist.storage.database import Database

    # Ctrl-C reaches the whole process group; the parent stops this process itself (its
    # transaction then rolls back), without a second traceback from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def report(stage: str, done: int, total: int) -> None:
        messages.put(("progress", stage, done, total))

    database = Database(settings)
    try:
        with database.reader_and_writer() as (reader, store):
            run = _churn(reader, store, report, currency, actor, options)
            drop_old_scores(store, run.kind, settings.score_runs_kept, actor)
        messages.put(("result", {"id": run.id, "kind": run.kind, "status": run.status}))
    except SoloistError as exc:
        messages.put(("result", {"kind": "churn", "status": "failed", "error": exc.message}))
    except Exception as exc:  # an unexpected one: reported as the run's failure, and shown
        traceback.print_exc()
        error = f"Unexpected error: {type(exc).__name__}: {exc}"
        messages.put(("result", {"kind": "churn", "status": "failed", "error": error}))
    finally:
        database.dispose()
