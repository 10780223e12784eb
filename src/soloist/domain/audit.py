"""The audit log, written by the domain layer whenever something that matters changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.storage.models import AuditEntry

SYSTEM_ACTOR = "system"
# Fields whose values must never be copied into the audit log in clear.
PERSONAL_FIELDS = frozenset({"email", "phone", "address", "birthday", "notes", "body", "comment"})


def _printable(field: str, value: Any) -> Any:
    if field in PERSONAL_FIELDS:
        return "<set>" if value not in (None, "") else None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return str(value)


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for every field that changed, personal values masked."""
    changes: dict[str, Any] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old != new:
            changes[field] = [_printable(field, old), _printable(field, new)]
    return changes


def record_audit(
    session: Session,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int | str | None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        changes=dict(changes or {}),
    )
    session.add(entry)
    return entry


def audit_trail(
    session: Session, entity_type: str | None = None, entity_id: int | str | None = None
) -> list[AuditEntry]:
    """Audit entries, newest first, optionally for one entity."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == str(entity_id))
    return list(session.scalars(query))


def mask_all(fields: Iterable[str], values: Mapping[str, Any]) -> dict[str, Any]:
    return {field: _printable(field, values.get(field)) for field in fields}
