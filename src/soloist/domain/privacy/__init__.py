"""Privacy operations on one person: ``export`` (everything held about them, handed over) and
``erase`` (their personal data, for good; the business's records stay, anonymised)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.privacy.erase import (
        Erasure,
        erase_and_journal,
        erase_person,
        journal_erasure,
        replay_erasures,
    )
    from soloist.domain.privacy.export import PersonalExport, export_person, personal_records
    from soloist.domain.privacy.retention import RetentionPolicy, retention_plan, run_retention

_MODULE_OF = {
    "Erasure": "erase",
    "PersonalExport": "export",
    "erase_and_journal": "erase",
    "erase_person": "erase",
    "journal_erasure": "erase",
    "export_person": "export",
    "personal_records": "export",
    "replay_erasures": "erase",
    "RetentionPolicy": "retention",
    "retention_plan": "retention",
    "run_retention": "retention",
}
__all__ = [
    "Erasure",
    "PersonalExport",
    "RetentionPolicy",
    "erase_and_journal",
    "erase_person",
    "export_person",
    "journal_erasure",
    "personal_records",
    "replay_erasures",
    "retention_plan",
    "run_retention",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
