"""Case-insensitive substring matching that is as cheap as each engine allows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

_ESCAPE = "\\"


def contains_text(session: Session, column: Any, term: str) -> ColumnElement[bool]:
    """``column`` contains ``term``, ignoring case; ``%`` and ``_`` in ``term`` match themselves.

    SQLite's LIKE already ignores ASCII case (its ``lower()`` folds nothing more), so the plain
    LIKE finds the same rows as ILIKE there without calling ``lower()`` on every row.
    """
    escaped = term.replace(_ESCAPE, _ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    pattern = f"%{escaped}%"
    if session.get_bind().dialect.name == "sqlite":
        return column.like(pattern, escape=_ESCAPE)
    return column.ilike(pattern, escape=_ESCAPE)
