"""Importing files into the workspace: detect the format, clean the rows (:mod:`soloist.imports`),
resolve customers and write orders and activity in bulk, or report what would change.

The interfaces import from here, never from the modules: ``pipeline`` (the one entry point for a
file), ``bundle`` (several files of one export, in dependency order, in one transaction),
``value_maps`` (``--map-value``), ``customers`` (match, create and update the file's customers),
``orders`` (orders and lines), ``activity`` (subscriptions, interactions, and the counts every
writer returns), ``feedback`` (survey answers and reviews, with their own ids and orders),
``uploads`` (the import wizard's waiting files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.imports.bundle import AUTO, BundleReport, data_files, import_files
    from soloist.domain.imports.pipeline import (
        KINDS,
        ImportOptions,
        ImportPreview,
        ImportReport,
        detect_format,
        import_fields,
        import_file,
        preview_import,
        read_limits,
    )
    from soloist.domain.imports.uploads import (
        UPLOAD_MAX_AGE_S,
        sweep_stale_uploads,
        upload_folder,
    )
    from soloist.domain.imports.value_maps import (
        ValueMap,
        check_value_map,
        merge_value_maps,
        parse_value_maps,
        read_value_map_file,
    )

_MODULE_OF = {
    "AUTO": "bundle",
    "BundleReport": "bundle",
    "KINDS": "pipeline",
    "ImportOptions": "pipeline",
    "ImportPreview": "pipeline",
    "ImportReport": "pipeline",
    "UPLOAD_MAX_AGE_S": "uploads",
    "ValueMap": "value_maps",
    "check_value_map": "value_maps",
    "data_files": "bundle",
    "detect_format": "pipeline",
    "import_fields": "pipeline",
    "import_file": "pipeline",
    "import_files": "bundle",
    "merge_value_maps": "value_maps",
    "parse_value_maps": "value_maps",
    "preview_import": "pipeline",
    "read_limits": "pipeline",
    "read_value_map_file": "value_maps",
    "sweep_stale_uploads": "uploads",
    "upload_folder": "uploads",
}
__all__ = [
    "AUTO",
    "KINDS",
    "UPLOAD_MAX_AGE_S",
    "BundleReport",
    "ImportOptions",
    "ImportPreview",
    "ImportReport",
    "ValueMap",
    "check_value_map",
    "data_files",
    "detect_format",
    "import_fields",
    "import_file",
    "import_files",
    "merge_value_maps",
    "parse_value_maps",
    "preview_import",
    "read_limits",
    "read_value_map_file",
    "sweep_stale_uploads",
    "upload_folder",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
