"""The import wizard: upload → detected format, column mapping and preview with a dry-run
report → confirm. Uses the same domain use case as ``soloist import``
(:mod:`soloist.domain.imports`).

The uploaded file waits in the workspace's private ``uploads/`` folder between the steps, under a
random name remembered in the signed session; confirming (or a new upload) removes it, and an
upload left an hour is swept away (here and by the worker).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from soloist.domain.imports import (
    KINDS,
    ImportOptions,
    import_file,
    preview_import,
    read_limits,
    sweep_stale_uploads,
    upload_folder,
)
from soloist.domain.workspace import settle_import_currency
from soloist.errors import ImportRefusedError, SoloistError, ValidationError
from soloist.http import safe_upload_name
from soloist.web.labels import N_
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, WriterUser

router = APIRouter(include_in_schema=False)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK = 1024 * 1024


def _upload_dir(request: Request) -> Path:
    workspace = request.app.state.settings.workspace
    sweep_stale_uploads(workspace)  # abandoned wizards' files, an hour on
    return upload_folder(workspace)


def _pending(request: Request) -> tuple[Path, str] | None:
    """The file waiting for confirmation, and its kind."""
    data = request.session.get("import")
    if not data:
        return None
    folder = _upload_dir(request) / str(data["id"])
    path = folder / str(data["name"])
    if not path.is_file():
        return None
    return path, str(data["kind"])


def _discard(request: Request) -> None:
    data = request.session.pop("import", None)
    if data:
        shutil.rmtree(_upload_dir(request) / str(data["id"]), ignore_errors=True)


def _options(request: Request, **given: Any) -> ImportOptions:
    """The workspace's time zone and country (for phone numbers without +code), as the CLI."""
    settings = request.app.state.settings
    return ImportOptions(
        timezone=settings.timezone,
        country=settings.country,
        limits=read_limits(settings),
        **given,
    )


def _dry_run(request: Request, path: Path, kind: str, actor: str) -> dict[str, Any]:
    """The report an import would give, from a transaction that is always rolled back."""
    database = request.app.state.database
    with database.session_factory() as session:
        try:
            report = import_file(
                session,
                kind,
                path,
                _options(request, dry_run=True),
                actor,
                default_currency=request.app.state.settings.currency,
            )
            return {**report.to_dict(), "refused": False}
        except ImportRefusedError as exc:
            return {**exc.details, "refused": True}
        finally:
            session.rollback()


@router.get("/import")
def upload_page(request: Request, user: WriterUser) -> Response:
    context = {"kinds": KINDS, "error": None, "error_code": None}
    return render(request, "imports/upload.html", context, user=user)


@router.post("/import/preview", dependencies=[CsrfChecked])
def preview(
    request: Request,
    user: WriterUser,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    _discard(request)
    if kind not in KINDS:
        raise ValidationError(N_("The import wizard cannot read that kind of data."), field="kind")
    upload_id = secrets.token_hex(16)
    name = safe_upload_name(file.filename)
    folder = _upload_dir(request) / upload_id
    folder.mkdir(mode=0o700)
    path = folder / name
    size = 0
    with path.open("wb") as handle:
        while chunk := file.file.read(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                shutil.rmtree(folder, ignore_errors=True)
                raise ValidationError(N_("The file is larger than 200 MB."), field="file")
            handle.write(chunk)
    try:
        found = preview_import(path, kind, _options(request))
    except SoloistError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        context = {"kinds": KINDS, "error": exc.message, "error_code": exc.code}
        return render(request, "imports/upload.html", context, user=user, status_code=422)
    request.session["import"] = {"id": upload_id, "name": name, "kind": kind}
    report = _dry_run(request, path, kind, user.actor)
    return render(request, "imports/preview.html", {"preview": found, "report": report}, user=user)


@router.post("/import/confirm", dependencies=[CsrfChecked])
def confirm(
    request: Request,
    user: WriterUser,
    skip_invalid: Annotated[bool, Form()] = False,
) -> Response:
    pending = _pending(request)
    if pending is None:
        return RedirectResponse("/import", status_code=303)
    path, kind = pending
    options = _options(request, skip_invalid=skip_invalid)
    settings = request.app.state.settings
    before = settings.currency
    try:
        with request.app.state.database.session() as session:
            imported = import_file(
                session, kind, path, options, user.actor, default_currency=settings.currency
            )
            report = imported.to_dict()
            # The first orders into an empty workspace set its currency, as on the CLI.
            report["currency_notes"] = settle_import_currency(
                session, settings, imported.currencies
            )
    except ImportRefusedError as exc:
        report = {**exc.details, "refused": True}
    report["adopted_currency"] = settings.currency if settings.currency != before else None
    _discard(request)
    return render(request, "imports/done.html", {"report": report}, user=user)
