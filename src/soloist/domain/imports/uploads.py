"""The import wizard's waiting room: ``uploads/`` in the workspace, one private folder per file.

A file waits there between the wizard's preview and its confirmation. Customer data should not
stay on disk in plain text longer than that: confirming or starting again removes the folder, and
:func:`sweep_stale_uploads` removes the ones left by wizards nobody finished (the web app on each
visit to the wizard, the worker every minute).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soloist.storage.database import Database

#: A wizard left this long without a confirmation is abandoned; its upload is deleted.
UPLOAD_MAX_AGE_S = 3600


def upload_folder(workspace: Path | str) -> Path:
    """The workspace's ``uploads/`` folder (created private, 0700)."""
    folder = Path(workspace) / "uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def sweep_stale_uploads(
    workspace: Path | str, *, max_age_s: float = UPLOAD_MAX_AGE_S, now: float | None = None
) -> int:
    """Delete the uploads older than ``max_age_s``; how many were deleted."""
    folder = Path(workspace) / "uploads"
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age_s
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:  # removed meanwhile by a confirmation
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def remove_abandoned_uploads(database: Database, actor: str, now: dt.datetime) -> int:
    """The worker's minute: sweep the workspace's stale uploads (``actor`` and ``now`` as the
    other automation steps take them; the files' own times decide)."""
    return sweep_stale_uploads(database.settings.workspace)
