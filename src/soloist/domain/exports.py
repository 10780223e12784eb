"""Exporting customers, orders and scores to CSV, Excel (.xlsx) or Parquet.

Money leaves as decimal strings beside the integer minor units and the currency, never as
floats; times as ISO 8601 UTC. Every export is audited (it carries personal data). Text that a
spreadsheet would run as a formula is neutralised: an apostrophe in CSV, a text cell in XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import record_audit
from soloist.errors import UsageError, ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.models import Customer, CustomerScore, ModelRun, Order

EXPORT_KINDS = ("customers", "orders", "scores")
EXPORT_FORMATS = ("csv", "xlsx", "parquet")
PROGRESS_EVERY = 2000
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "id",
    "external_id",
    "name",
    "company",
    "email",
    "phone",
    "country",
    "language",
    "source",
    "status",
    "tags",
    "first_seen_at",
    "created_at",
)
ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    "external_id",
    "customer_id",
    "status",
    "currency",
    "total",
    "total_minor",
    "discount",
    "ordered_at",
    "channel",
    "source",
    "lines",
)
SCORE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "model_run_id",
    "model",
    "p_alive",
    "expected_purchases_90d",
    "clv_12m",
    "spend_estimate",
    "churn_risk",
    "next_purchase_days",
    "segment",
    "cluster",
)


@dataclass
class ExportResult:
    kind: str
    format: str
    path: Path
    rows: int


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _customers(session: Session) -> Iterator[dict[str, Any]]:
    for customer in session.scalars(select(Customer).order_by(Customer.id)).yield_per(1000):
        yield {
            "id": customer.id,
            "external_id": customer.external_id,
            "name": customer.name,
            "company": customer.company,
            "email": customer.email,
            "phone": customer.phone,
            "country": customer.country,
            "language": customer.language,
            "source": customer.source,
            "status": customer.status,
            "tags": ",".join(customer.tag_names),
            "first_seen_at": _iso(customer.first_seen_at),
            "created_at": _iso(customer.created_at),
        }


def _orders(session: Session) -> Iterator[dict[str, Any]]:
    from soloist.storage.models import OrderLine

    counts = select(OrderLine.order_id, func.count().label("n")).group_by(OrderLine.order_id)
    sub = counts.subquery()
    query = select(Order, sub.c.n).outerjoin(sub, sub.c.order_id == Order.id).order_by(Order.id)
    for row in session.execute(query).yield_per(5000):
        order: Order = row[0]
        lines: int | None = row[1]
        yield {
            "id": order.id,
            "external_id": order.external_id,
            "customer_id": order.customer_id,
            "status": order.status,
            "currency": order.currency,
            "total": str(minor_to_decimal(order.total_minor, order.currency)),
            "total_minor": order.total_minor,
            "discount": str(minor_to_decimal(order.discount_minor or 0, order.currency)),
            "ordered_at": _iso(order.ordered_at),
            "channel": order.channel,
            "source": order.source,
            "lines": int(lines or 0),
        }


def _scores(session: Session, currency: str) -> Iterator[dict[str, Any]]:
    """The scores of the latest model run of each kind."""
    latest = select(ModelRun.kind, func.max(ModelRun.id).label("id")).group_by(ModelRun.kind)
    runs = {run_id: kind for kind, run_id in session.execute(latest)}
    if not runs:
        return
    query = (
        select(CustomerScore)
        .where(CustomerScore.model_run_id.in_(list(runs)))
        .order_by(CustomerScore.customer_id, CustomerScore.model_run_id)
    )

    def money(value: int | None) -> str | None:
        return None if value is None else str(minor_to_decimal(value, currency))

    for score in session.scalars(query).yield_per(5000):
        yield {
            "customer_id": score.customer_id,
            "model_run_id": score.model_run_id,
            "model": runs[score.model_run_id],
            "p_alive": score.p_alive,
            "expected_purchases_90d": score.expected_purchases_90d,
            "clv_12m": money(score.clv_12m_minor),
            "spend_estimate": money(score.spend_estimate_minor),
            "churn_risk": score.churn_risk,
            "next_purchase_days": score.next_purchase_days,
            "segment": score.segment,
            "cluster": score.cluster,
        }


# A spreadsheet reads a cell that begins with one of these as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number written as text ("-12.50", "+44") is no formula, and stays as it is.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Characters an XLSX file (XML 1.0) cannot hold; openpyxl refuses a whole export for one.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell: text that a spreadsheet would run as a formula gets a leading
    apostrophe, as OWASP advises; numbers, and text that only looks like a number, are kept."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def xlsx_text(value: str) -> str:
    """Text for an XLSX cell: the control characters XML cannot carry are dropped."""
    return _XML_ILLEGAL.sub("", value)


def _write(path: Path, fmt: str, columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({c: csv_safe(row[c]) for c in columns})
                count += 1
        return count
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("data")
        sheet.append(list(columns))

        def cell(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            text = WriteOnlyCell(sheet, value=xlsx_text(value))
            text.data_type = "s"  # text is text: "=…" is never stored as a live formula
            return text

        for row in rows:
            sheet.append([cell(row[c]) for c in columns])
            count += 1
        workbook.save(path)
        return count
    import polars as pl

    data = list(rows)
    frame = (
        pl.DataFrame(data, schema=list(columns), orient="row", infer_schema_length=None)
        if data
        else pl.DataFrame({c: [] for c in columns})
    )
    frame.write_parquet(path)
    return len(data)


def _counted(
    rows: Iterator[dict[str, Any]], stage: str, total: int, progress: Progress | None
) -> Iterator[dict[str, Any]]:
    """``rows``, telling ``progress`` every few thousand (``total`` 0: not known beforehand)."""
    report = progress or no_progress
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % PROGRESS_EVERY == 0:
            report(stage, done, max(total, done))
    report(stage, done, max(total, done))


def export_records(
    session: Session,
    kind: str,
    path: Path | str,
    fmt: str | None = None,
    *,
    actor: str,
    currency: str = "USD",
    progress: Progress | None = None,
    store: Session | None = None,
) -> ExportResult:
    """Write ``kind`` (customers, orders, scores) to ``path`` as csv, xlsx or parquet (default:
    from the file's suffix). ``store`` writes the audit entry when given (``session`` then only
    reads, and on SQLite live writes need not wait for the whole export)."""
    path = Path(path)
    if kind not in EXPORT_KINDS:
        raise UsageError(f"Unknown export {kind!r}; use one of {', '.join(EXPORT_KINDS)}.")
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"Unknown export format {fmt!r}; use csv, xlsx or parquet.")
    if kind == "customers":
        rows, columns = _customers(session), CUSTOMER_COLUMNS
        total = session.scalar(select(func.count(Customer.id))) or 0
    elif kind == "orders":
        rows, columns = _orders(session), ORDER_COLUMNS
        total = session.scalar(select(func.count(Order.id))) or 0
    else:
        rows, columns = _scores(session, currency), SCORE_COLUMNS
        total = 0
    try:
        count = _write(path, fmt, columns, _counted(rows, f"exporting {kind}", total, progress))
    except OSError as exc:
        raise ValidationError(f"Cannot write {path}: {exc.strerror or exc}") from exc
    record_audit(
        store or session,
        actor,
        f"{kind}.exported",
        kind,
        None,
        {"format": fmt, "rows": count, "file": path.name},
    )
    return ExportResult(kind=kind, format=fmt, path=path, rows=count)
