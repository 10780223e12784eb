"""Recognising a file imported before into data that have not changed since.

Importing a file again is safe (every row is matched and compared, nothing is written twice)
but reads and compares every row: 5 s for a million order lines. When the same file, as the
same kind with the same options and the same Soloist code, is imported into data exactly as an
earlier import of it left them, the outcome is known: nothing changes. Each import keeps a key
of all that (:func:`unchanged_key`, taken as it finishes, after its own writes), and an import
whose key is already there reports the unchanged outcome at once (:func:`unchanged_report`).

"The data as the import left them" is read from what every change leaves behind: the number
and newest id of the rows of each table an import writes (a deletion or an insertion), the
newest change time of the tables that keep one (an edit), the newest audited change of an
order, a customer, a product or a subscription (an edit of a table without a change time: a
refund, a status), and the newest import that changed anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.storage.kept import code_fingerprint
from soloist.storage.models import (
    AuditEntry,
    Customer,
    CustomerTag,
    ImportBatch,
    Interaction,
    Order,
    OrderLine,
    Product,
    Review,
    Subscription,
    SurveyResponse,
)
from soloist.storage.types import utcnow
from soloist.vocabulary import WIDTHS

if TYPE_CHECKING:
    from soloist.domain.imports.pipeline import ImportOptions

#: The tables imports write, and whether each keeps the time of a row's last change.
WRITTEN_TABLES: tuple[tuple[Any, bool], ...] = (
    (Customer, True),
    (Order, False),
    (OrderLine, False),
    (Product, True),
    (Subscription, True),
    (Interaction, False),
    (Review, False),
    (SurveyResponse, False),
)
AUDITED_ENTITIES = ("order", "customer", "product", "subscription")
UNCHANGED_NOTE = "Nothing to do:"
#: The report's details that count what an import wrote (the others describe the file).
WRITTEN_DETAILS = ("products_created", "order_lines")


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes as stored (compressed or not)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def data_marks(session: Session) -> list[Any]:
    """What any change to the data an import reads and writes leaves different, in one
    statement."""
    aggregates: list[Any] = []
    for model, changes in WRITTEN_TABLES:
        aggregates += [select(func.count()).select_from(model), select(func.max(model.id))]
        if changes:
            aggregates.append(select(func.max(model.updated_at)))
    aggregates.append(select(func.count()).select_from(CustomerTag))
    aggregates.append(
        select(func.max(AuditEntry.id)).where(AuditEntry.entity_type.in_(AUDITED_ENTITIES))
    )
    aggregates.append(select(func.max(ImportBatch.id)).where(ImportBatch.status == "imported"))
    row = session.execute(select(*(query.scalar_subquery() for query in aggregates))).one()
    return [value.isoformat() if isinstance(value, dt.datetime) else value for value in row]


def unchanged_key(
    session: Session,
    file_hash: str,
    kind: str,
    options: ImportOptions,
    default_currency: str,
) -> str:
    """The key of this file imported as ``kind`` with ``options`` into the data as they are."""
    chosen = {k: v for k, v in asdict(options).items() if k not in ("dry_run", "limits")}
    if kind == "subscriptions" and options.as_of is None:
        chosen["as_of"] = dt.date.today()  # a snapshot is read as of the day it is imported
    described = json.dumps(
        [file_hash, kind, chosen, default_currency, code_fingerprint(), data_marks(session)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(described.encode()).hexdigest()


def earlier_import(session: Session, key: str) -> ImportBatch | None:
    """The newest import that left the data exactly as they are, with this file and options."""
    return session.scalars(
        select(ImportBatch)
        .where(ImportBatch.unchanged_key == key, ImportBatch.status.in_(("imported", "unchanged")))
        .order_by(ImportBatch.id.desc())
        .limit(1)
    ).first()


def unchanged_report(earlier: ImportBatch, file: str) -> dict[str, Any]:
    """The report of importing ``earlier``'s file again into the data it left: every row read
    and checked as then, nothing new, nothing updated, everything it imported or updated now
    unchanged."""
    report = dict(earlier.report)
    customers = dict(report.get("customers") or {})
    moved = int(report.get("imported") or 0) + int(report.get("updated") or 0)
    report.update(
        file=file,
        status="unchanged",
        imported=0,
        updated=0,
        unchanged=int(report.get("unchanged") or 0) + moved,
        details={
            name: 0 if name in WRITTEN_DETAILS else value
            for name, value in (report.get("details") or {}).items()
        },
        notes=[
            *[note for note in report.get("notes") or [] if not note.startswith(UNCHANGED_NOTE)],
            f"{UNCHANGED_NOTE} import #{earlier.id} of "
            f"{(earlier.finished_at or earlier.started_at):%Y-%m-%d %H:%M} UTC read the same "
            "file into the data as they are now.",
        ],
    )
    if customers:
        found = int(customers.get("created") or 0) + int(customers.get("matched_existing") or 0)
        customers.update(created=0, matched_existing=found, updated=0)
        report["customers"] = customers
        duplicates = dict(report.get("duplicates") or {})
        if "customers_matched_existing" in duplicates:
            duplicates["customers_matched_existing"] = found
        report["duplicates"] = duplicates
    return report


def record_unchanged(session: Session, earlier: ImportBatch, file: str, key: str) -> ImportBatch:
    """The batch of importing ``earlier``'s file again, as ``file``, into the data it left."""
    batch = ImportBatch(
        kind=earlier.kind,
        filename=file[: WIDTHS["import_batches.filename"]],
        sha256=earlier.sha256,
        file_format=earlier.file_format,
        status="unchanged",
        report={},
        finished_at=utcnow(),
        unchanged_key=key,
    )
    session.add(batch)
    session.flush()
    batch.report = {**unchanged_report(earlier, file), "batch_id": batch.id}
    return batch
