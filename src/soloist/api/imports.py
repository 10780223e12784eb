"""/api/v1/imports: preview and import a file (customers, orders, subscriptions, interactions,
feedback), or several files of one export at once (``/api/v1/imports/bundle``), through the same
domain use cases as ``soloist import``.

Files are sent as ``multipart/form-data``. A refused file answers 422 with the error shape,
``code = "import_refused"`` and the whole report (``rows_read``, ``invalid``, ``errors`` …) in
``details``; then nothing was written. ``map_value`` (repeatable, ``FIELD:WORD=VALUE``) says what a
file's words mean, as ``--map-value`` does.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile, status

from soloist.api.deps import Reader, Writer, WriteSession
from soloist.domain.imports import (
    KINDS,
    BundleReport,
    ImportOptions,
    ImportPreview,
    ImportReport,
    check_value_map,
    import_file,
    import_files,
    parse_value_maps,
    preview_import,
    read_limits,
)
from soloist.domain.workspace import settle_import_currency
from soloist.errors import ValidationError
from soloist.http import safe_upload_name

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024


def _save(upload: UploadFile, folder: Path, budget: int) -> tuple[Path, int]:
    """Write ``upload`` into ``folder`` under its own (sanitised) name; the bytes written."""
    name = safe_upload_name(upload.filename)
    path = folder / name
    if path.exists():
        raise ValidationError(f"Two uploads are named {name!r}.", field="files")
    size = 0
    with path.open("wb") as handle:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > budget:
                raise ValidationError("The upload is larger than 200 MB.", field="file")
            handle.write(chunk)
    return path, size


@contextmanager
def saved_upload(upload: UploadFile) -> Iterator[Path]:
    """The upload in a private temporary folder under its own (sanitised) name."""
    with tempfile.TemporaryDirectory(prefix="soloist-import-") as folder:
        path, _ = _save(upload, Path(folder), MAX_UPLOAD_BYTES)
        yield path


def _options(
    request: Request, kind: str, map_value: list[str] | None, **given: Any
) -> ImportOptions:
    value_map = parse_value_maps(map_value or [])
    if kind in KINDS:
        check_value_map(kind, value_map)
    settings = request.app.state.settings
    return ImportOptions(
        value_map=value_map,
        timezone=settings.timezone,
        country=getattr(settings, "country", None),
        limits=read_limits(settings),
        **given,
    )


@router.post("/preview", response_model=ImportPreview)
def preview(
    request: Request,
    _: Reader,
    kind: Annotated[str, Form(description="customers, orders, subscriptions, interactions…")],
    file: Annotated[UploadFile, File(description="CSV, TSV, Excel or text file.")],
    format: Annotated[str, Form(description="auto, or a format name")] = "auto",
) -> ImportPreview:
    """The detected format, encoding, column mapping and first rows; nothing is written."""
    with saved_upload(file) as path:
        limits = read_limits(request.app.state.settings)
        return preview_import(path, kind, ImportOptions(format=format, limits=limits))


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
    map_value: Annotated[
        list[str] | None, Form(description="FIELD:WORD=VALUE, e.g. status:invoiced=paid.")
    ] = None,
    as_of: Annotated[
        dt.date | None,
        Form(
            description="The day a subscription snapshot (tenure in months) was taken; "
            "default today."
        ),
    ] = None,
) -> ImportReport:
    """Import a file atomically and idempotently; answers with the data-quality report."""
    options = _options(
        request,
        kind,
        map_value,
        format=format,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        currency=currency,
        as_of=as_of,
    )
    settings = request.app.state.settings
    with saved_upload(file) as path:
        report = import_file(
            session, kind, path, options, who.actor, default_currency=settings.currency
        )
    # The first orders (or subscriptions) into an empty workspace set its currency, as on the
    # CLI and in the import wizard; the notes say so.
    report.notes.extend(
        settle_import_currency(session, settings, report.currencies, dry_run=dry_run)
    )
    return report


@router.post("/bundle", response_model=BundleReport, status_code=status.HTTP_201_CREATED)
def post_bundle(
    request: Request,
    session: WriteSession,
    who: Writer,
    files: Annotated[list[UploadFile], File(description="The files of one export.")],
    kind: Annotated[str, Form(description="auto (recognise each file), or one kind")] = "auto",
    dry_run: Annotated[bool, Form(description="Check and report, write nothing.")] = False,
    skip_invalid: Annotated[bool, Form(description="Import the valid rows only.")] = False,
    currency: Annotated[str | None, Form(description="Currency of amounts without one.")] = None,
    map_value: Annotated[
        list[str] | None, Form(description="FIELD:WORD=VALUE, e.g. status:invoiced=paid.")
    ] = None,
    as_of: Annotated[
        dt.date | None,
        Form(
            description="The day a subscription snapshot (tenure in months) was taken; "
            "default today."
        ),
    ] = None,
) -> BundleReport:
    """Import several files of one export (an Olist export, Shopify customers and orders, monthly
    files) in dependency order, in one transaction: one refused file writes nothing."""
    options = _options(
        request,
        kind,
        map_value,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        currency=currency,
        as_of=as_of,
    )
    with tempfile.TemporaryDirectory(prefix="soloist-import-") as folder:
        budget, paths = MAX_UPLOAD_BYTES, []
        for upload in files:
            path, size = _save(upload, Path(folder), budget)
            budget -= size
            paths.append(path)
        return import_files(
            session,
            kind,
            paths,
            options,
            who.actor,
            default_currency=request.app.state.settings.currency,
        )
