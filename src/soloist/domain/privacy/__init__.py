"""Privacy operations on one person: ``export`` (everything held about them, handed over) and
``erase`` (their personal data, for good; the business's records stay, anonymised)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.privacy.erase import Erasure, erase_person
    from soloist.domain.privacy.export import PersonalExport, export_person, personal_records

_MODULE_OF = {
    "Erasure": "erase",
    "PersonalExport": "export",
    "erase_person": "erase",
    "export_person": "export",
    "personal_records": "export",
}
__all__ = ["Erasure", "PersonalExport", "erase_person", "export_person", "personal_records"]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
