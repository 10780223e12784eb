"""/api/v1/imports: preview and import a file (customers, orders, subscriptions, interactions,
feedback), through the same domain use case as ``soloist import``.

The file is sent as ``multipart/form-data``. A refused file answers 422 with the error shape,
``code = "import_refused"`` and the whole report (``rows_read``, ``invalid``, ``errors`` …) in
``details``; then nothing was written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status

from soloist.api.deps import Reader, Writer, WriteSession
from soloist.domain.imports import (
    ImportOptions,
    ImportPreview,
    ImportReport,
    import_file,
    preview_import,
)
from soloist.errors import ValidationError

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024


@contextmanager
def saved_upload(upload: UploadFile) -> Iterator[Path]:
    """The upload in a private temporary folder under its own (sanitised) name."""
    name = Path(upload.filename or "upload.csv").name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="soloist-import-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as handle:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ValidationError("The file is larger than 200 MB.", field="file")
                handle.write(chunk)
        yield path


@router.post("/preview", response_model=ImportPreview)
def preview(
    _: Reader,
    kind: Annotated[str, Form(description="customers, orders, subscriptions, interactions…")],
    file: Annotated[UploadFile, File(description="CSV, TSV, Excel or text file.")],
    format: Annotated[str, Form(description="auto, or a format name")] = "auto",
) -> ImportPreview:
    """The detected format, encoding, column mapping and first rows; nothing is written."""
    with saved_upload(file) as path:
        return preview_import(path, kind, ImportOptions(format=format))


@router.post("", response_model=ImportReport, status_code=status.HTTP_201_CREATED)
def post_import(
    request: Request,
    session: WriteSession,
    who: Writer,
    kind: Annotated[str, Form(description="customers, orders, subscriptions, interactions…")],
    file: Annotated[UploadFile, File(description="CSV, TSV, Excel or text file.")],
    format: Annotated[str, Form(description="auto, or a format name")] = "auto",
    dry_run: Annotated[bool, Form(description="Check and report, write nothing.")] = False,
    skip_invalid: Annotated[bool, Form(description="Import the valid rows only.")] = False,
    currency: Annotated[str | None, Form(description="Currency of amounts without one.")] = None,
) -> ImportReport:
    """Import a file atomically and idempotently; answers with the data-quality report."""
    options = ImportOptions(
        format=format, dry_run=dry_run, skip_invalid=skip_invalid, currency=currency
    )
    with saved_upload(file) as path:
        report = import_file(
            session,
            kind,
            path,
            options,
            who.actor,
            default_currency=request.app.state.settings.currency,
        )
    return report
