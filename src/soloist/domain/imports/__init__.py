"""Importing files into the workspace: detect the format, clean the rows (:mod:`soloist.imports`),
resolve customers and write orders and activity in bulk, or report what would change.

The interfaces import from here, never from the modules: ``pipeline`` (the one entry point),
``customers`` (match, create and update the file's customers), ``orders`` (orders and lines),
``activity`` (subscriptions, interactions, feedback, and the counts every writer returns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.imports.pipeline import (
        KINDS,
        ImportOptions,
        ImportPreview,
        ImportReport,
        detect_format,
        import_file,
        preview_import,
    )

_MODULE_OF = {
    "KINDS": "pipeline",
    "ImportOptions": "pipeline",
    "ImportPreview": "pipeline",
    "ImportReport": "pipeline",
    "detect_format": "pipeline",
    "import_file": "pipeline",
    "preview_import": "pipeline",
}
__all__ = [
    "KINDS",
    "ImportOptions",
    "ImportPreview",
    "ImportReport",
    "detect_format",
    "import_file",
    "preview_import",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
