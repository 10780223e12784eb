"""Options every command shares, and the one place that turns errors into messages.

A command that works on a workspace declares one parameter ``common: Common`` and is decorated
with :func:`shared_options`; the decorator gives it ``--workspace``, ``--db`` and ``--json`` (the
same flags, help and environment variables everywhere, accepted after the command's own
arguments like any other option) and runs it inside :func:`cli_errors`::

    @app.command()
    @shared_options
    def status(common: Common) -> None:
        with common.open_database() as database, database.session() as session:
            ...
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import os
import sys
import threading
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, overload

import click
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from soloist.errors import SoloistError, UsageError

if TYPE_CHECKING:
    from soloist.config import Settings
    from soloist.storage.database import Database

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: the SQLite file in the workspace).",
        envvar="SOLOIST_DATABASE_URL",
        show_envvar=True,
    ),
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: ./soloist-workspace).",
        envvar="SOLOIST_WORKSPACE",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


# Usage errors Typer reports itself; recent Typer raises those of its own copy of Click.
CLICK_ERRORS: tuple[type[Exception], ...] = tuple(
    {click.ClickException}
    | {c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"}
)


def debug_enabled() -> bool:
    return os.environ.get("SOLOIST_DEBUG", "") not in ("", "0", "false")


@contextmanager
def cli_errors() -> Iterator[None]:
    """Print ``Error: …`` and exit 1 on a SoloistError (2 for a usage error); any other
    exception gets one line too. Tracebacks only with --debug."""
    try:
        yield
    except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except CLICK_ERRORS:
        raise
    except SoloistError as exc:
        if debug_enabled():
            raise
        err.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None
    except Exception as exc:
        if debug_enabled():
            raise
        err.print(f"[bold red]Error:[/] {unexpected_error_message(exc)}", highlight=False)
        raise typer.Exit(1) from None


def unexpected_error_message(exc: Exception) -> str:
    """One line for an error nobody raised on purpose: what it was, and how to see more."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    if isinstance(exc, OperationalError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"The database cannot be opened: {reason}. Check --db or SOLOIST_DATABASE_URL."
    if isinstance(exc, ArgumentError):
        return f"The database URL is not valid: {exc}. Check --db or SOLOIST_DATABASE_URL."
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (
        f"{type(exc).__name__}{': ' + text if text else ''} "
        "(this is a bug or an unexpected input; run again with --debug for the traceback)"
    )


@dataclass(frozen=True)
class Common:
    """What ``--workspace``, ``--db`` and ``--json`` said (``json`` is False for commands that
    print no results)."""

    workspace: Path | None = None
    db: str | None = None
    json: bool = False

    def settings(self) -> Settings:
        """The workspace's settings, with ``--db`` over the configured database URL."""
        from soloist.config import load_settings

        return load_settings(workspace=self.workspace, database_url=self.db)

    @contextmanager
    def open_database(self) -> Iterator[Database]:
        """The workspace's database (its schema checked), disposed of afterwards."""
        from soloist.domain.workspace import open_workspace

        database = open_workspace(self.settings())
        try:
            yield database
        finally:
            database.dispose()


_SHARED = (
    ("workspace", WorkspaceOption, None),
    ("db", DbOption, None),
    ("json", JsonOption, False),
)
Command = Callable[..., None]


@overload
def shared_options(command: Command, /) -> Command: ...
@overload
def shared_options(*, json: bool = True) -> Callable[[Command], Command]: ...
def shared_options(
    command: Command | None = None, /, *, json: bool = True
) -> Command | Callable[[Command], Command]:
    """Give ``command`` the options ``--workspace`` and ``--db`` (and, unless ``json=False``,
    ``--json``), passed to it as its ``common: Common`` parameter, and run it in
    :func:`cli_errors`.

    Typer reads a command's options from its signature, so the decorator shows Typer the
    command's own parameters, minus ``common``, followed by the shared ones.
    """

    def decorate(function: Command) -> Command:
        own = inspect.signature(function).parameters
        if "common" not in own:
            raise TypeError(f"{function.__name__} needs a parameter `common: Common`")
        shared = [(n, a, d) for n, a, d in _SHARED if json or n != "json"]
        taken = {name for name, _, _ in shared} & set(own)
        if taken:
            raise TypeError(f"{function.__name__} declares shared options itself: {taken}")
        hints = typing.get_type_hints(function, include_extras=True)
        parameters = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in own.values()
            if p.name != "common"
        ] + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for name, a, d in shared
        ]

        @functools.wraps(function)
        def run(**values: Any) -> None:
            common = Common(
                workspace=values.pop("workspace"),
                db=values.pop("db"),
                json=values.pop("json", False),
            )
            with cli_errors():
                function(common=common, **values)

        signature = inspect.Signature(parameters, return_annotation=None)
        run.__signature__ = signature  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return run

    return decorate if command is None else decorate(command)


def parse_date(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` option; anything else is bad usage (exit 2)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {value!r}") from None


def utcnow() -> dt.datetime:
    """Now, in UTC (without importing the storage layer, so commands start at once)."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; a naive one (as a database may hand it back) taken as UTC."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def cli_actor() -> str:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    return f"cli:{user}"


class _RateColumn(ProgressColumn):
    """Items per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed and task.total and task.total > 10 else "")


@contextmanager
def progress_bars(
    *, enabled: bool = True, steps_of: str | None = None
) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(stage, done, total)`` callback drawing one bar per stage on stderr, with
    counts, rate and elapsed time; nothing at all when ``enabled`` is false (``--json``).

    With ``steps_of`` the stages are steps of one piece of work: one bar, named
    ``"{steps_of}: {stage}"``."""
    with _bars(enabled) as (bar, tasks):

        def progress(stage: str, done: int, total: int) -> None:
            _draw(bar, tasks, steps_of, stage, done, total)

        yield progress


@contextmanager
def work_bars(
    works: dict[str, str], *, enabled: bool = True
) -> Iterator[dict[str, Callable[[str, int, int], None]]]:
    """One bar per piece of work (key → its name), which may run side by side: a
    ``progress(stage, done, total)`` callback for each key, its bar named ``"{name}: {stage}"``
    (safe to call from another thread)."""
    with _bars(enabled) as (bar, tasks):

        def of(name: str) -> Callable[[str, int, int], None]:
            return lambda stage, done, total: _draw(bar, tasks, name, stage, done, total)

        yield {key: of(name) for key, name in works.items()}


@contextmanager
def _bars(enabled: bool) -> Iterator[tuple[RichProgress, dict[str, TaskID]]]:
    bar = RichProgress(
        TextColumn("{task.description:<30}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    )
    tasks: dict[str, TaskID] = {}
    try:
        yield bar, tasks
    finally:
        if tasks:
            bar.stop()


_drawing = threading.Lock()


def _draw(
    bar: RichProgress,
    tasks: dict[str, TaskID],
    steps_of: str | None,
    stage: str,
    done: int,
    total: int,
) -> None:
    with _drawing:
        if not tasks:
            bar.start()  # only once there is something to show: no blank line otherwise
        key = steps_of or stage
        label = f"{steps_of}: {stage}" if steps_of else stage
        if key not in tasks:
            tasks[key] = bar.add_task(label, total=max(total, 1))
        bar.update(tasks[key], description=label, completed=done, total=max(total, 1))


EndDateOption = Annotated[
    dt.date | None,
    typer.Option(
        "--end-date",
        parser=parse_date,
        metavar="<date>",
        help="Last day of data to use (default: the last order).",
    ),
]
