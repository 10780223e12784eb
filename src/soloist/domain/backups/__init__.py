"""Backups: an encrypted, checked copy of the workspace's database (``archive``: the sealed
file; ``tables``: rows as portable JSON lines; ``operations``: backup, verify, restore)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.backups.archive import BackupDamagedError
    from soloist.domain.backups.operations import (
        BackupSummary,
        make_backup,
        open_restore_target,
        restore_backup,
        verify_backup,
    )

_MODULE_OF = {
    "BackupDamagedError": "archive",
    "BackupSummary": "operations",
    "make_backup": "operations",
    "open_restore_target": "operations",
    "restore_backup": "operations",
    "verify_backup": "operations",
}
__all__ = [
    "BackupDamagedError",
    "BackupSummary",
    "make_backup",
    "open_restore_target",
    "restore_backup",
    "verify_backup",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
