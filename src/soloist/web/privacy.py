"""One person's data from the customer page, owner only: hand it over (a zip) or erase it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.customers import get_customer
from soloist.domain.privacy import erase_and_journal, export_person
from soloist.web.rendering import render
from soloist.web.security import CsrfChecked, OwnerUser

router = APIRouter(include_in_schema=False)


@router.get("/customers/{customer_id}/export")
def export_person_page(request: Request, customer_id: int, user: OwnerUser) -> Response:
    """The person's archive (JSON, CSV, README in their language) as a download; audited."""
    with tempfile.TemporaryDirectory(prefix="soloist-privacy-") as folder:
        path = Path(folder) / f"customer-{customer_id}.zip"
        with request.app.state.database.session() as session:
            export_person(session, customer_id, path, user.actor)
        content = path.read_bytes()
    disposition = f'attachment; filename="customer-{customer_id}.zip"'
    return Response(
        content, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


def _confirmation(
    request: Request, user: OwnerUser, customer_id: int, *, missing: bool = False
) -> Response:
    with request.app.state.database.read_session() as session:
        customer = get_customer(session, customer_id)
        context = {"c": customer, "missing": missing}
        return render(
            request,
            "customers/erase.html",
            context,
            user=user,
            status_code=422 if missing else 200,
        )


@router.get("/customers/{customer_id}/erase")
def erase_page(request: Request, customer_id: int, user: OwnerUser) -> Response:
    """What erasing does, and a form to confirm it."""
    return _confirmation(request, user, customer_id)


@router.post("/customers/{customer_id}/erase", dependencies=[CsrfChecked])
def erase_person_now(
    request: Request,
    customer_id: int,
    user: OwnerUser,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm != "yes":
        return _confirmation(request, user, customer_id, missing=True)
    erase_and_journal(request.app.state.database, customer_id, user.actor)
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
