"""How long-running use cases report progress: ``progress(stage, done, total)``.

The CLI passes a function that draws progress bars; the API, the web app and the tests pass
nothing, and :func:`no_progress` is called instead.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def no_progress(_stage: str, _done: int, _total: int) -> None:
    """A :data:`Progress` that reports nowhere."""
    return None
