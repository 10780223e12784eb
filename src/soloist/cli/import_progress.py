"""The progress bar of ``soloist import``: file k of n, the step, rows read and their rate.

It appears only once an import has run for :data:`DELAY` seconds (a small file finishes without
one), on standard error, and only on a terminal without ``--json``. The import tells it what
happens through the domain's ``progress(stage, done, total)`` callback:
``("file:<name>", k, n)`` before the k-th of n files, ``("step:<step>", i, 4)`` within a file
(read, clean, customers, write) and ``("rows", rows read so far, 0)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

DELAY = 2.0  # seconds an import runs before its bar appears


class ImportBar:
    """A ``progress(stage, done, total)`` callback that draws one bar for the whole import."""

    def __init__(
        self,
        console: Console,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console, self.enabled, self.clock = console, enabled, clock
        self.started = clock()
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.label, self.step = "", ""
        self.file, self.files = 0, 1
        self.step_done, self.rows = 0.0, 0

    def __enter__(self) -> ImportBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage.startswith("file:"):
            self.label, self.file, self.files = stage[5:], done, max(total, 1)
            self.step, self.step_done = "", 0.0
        elif stage.startswith("step:"):
            self.step, self.step_done = stage[5:], done / max(total, 1)
        elif stage == "rows":
            self.rows = done
        self.draw()

    def description(self) -> str:
        """``file 3/13 online_retail_2011-02.csv.gz · clean`` (no file count for one file)."""
        if self.file >= self.files and not self.label:
            return f"{self.files} files imported" if self.files > 1 else "imported"
        where = f"file {min(self.file + 1, self.files)}/{self.files} " if self.files > 1 else ""
        step = f" · {self.step}" if self.step and self.step != "done" else ""
        return f"{where}{self.label}{step}"

    def rate(self) -> str:
        elapsed = self.clock() - self.started
        if not self.rows or elapsed <= 0:
            return ""
        return f"{self.rows:,} rows · {self.rows / elapsed:,.0f} rows/s"

    def draw(self) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if self.clock() - self.started < DELAY:
                return
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("", total=self.files, rate="")
        assert self.task is not None
        self.bar.update(
            self.task,
            description=self.description(),
            completed=self.file + self.step_done,
            total=self.files,
            rate=self.rate(),
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
