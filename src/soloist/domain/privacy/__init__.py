"""Privacy operations on one person: ``export`` (everything held about them, handed over)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.privacy.export import PersonalExport, export_person, personal_records

_MODULE_OF = {
    "PersonalExport": "export",
    "export_person": "export",
    "personal_records": "export",
}
__all__ = ["PersonalExport", "export_person", "personal_records"]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
