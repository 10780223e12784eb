"""One person's data, owner only: ``GET /api/v1/customers/{id}/export`` (everything held about
them, as a zip) and ``POST /api/v1/customers/{id}/erase`` (their personal data, for good)."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel
from starlette.responses import Response

from soloist.api.deps import DatabaseDep, Reader, Writer
from soloist.domain.privacy import erase_and_journal, export_person
from soloist.errors import PermissionDeniedError

router = APIRouter(prefix="/api/v1/customers", tags=["privacy"])
CustomerId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "/{customer_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The person's archive.",
        }
    },
)
def export_customer_data(customer_id: CustomerId, database: DatabaseDep, who: Reader) -> Response:
    """Everything held about the customer (JSON and CSV, decrypted, a README in their
    language), for handing over to them; owner only, audited."""
    if who.role != "owner":
        raise PermissionDeniedError("Only the owner can export a person's data.")
    with tempfile.TemporaryDirectory(prefix="soloist-privacy-") as folder:
        path = FilePath(folder) / f"customer-{customer_id}.zip"
        with database.session() as session:
            export_person(session, customer_id, path, who.actor)
        content = path.read_bytes()
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.zip"'},
    )


class ErasureOut(BaseModel):
    customer_ids: list[int]
    changed: dict[str, int]


@router.post("/{customer_id}/erase", response_model=ErasureOut)
def erase_customer_data(customer_id: CustomerId, database: DatabaseDep, who: Writer) -> Any:
    """Erase the customer (and the duplicates merged into them) for good: personal fields,
    tags, scores, conversations and free text go; orders and points stay, anonymised; the
    address stays suppressed as a keyed hash. Owner only, audited without the data, and
    journaled so that restoring an older backup erases them again."""
    if who.role != "owner":
        raise PermissionDeniedError("Only the owner can erase a person's data.")
    return erase_and_journal(database, customer_id, who.actor).to_dict()
