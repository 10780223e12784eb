"""Importing several files of one export in one go: a folder, or a list of files.

::

    report = import_files(session, "auto", ["olist/"], ImportOptions(), actor="cli:me")
    report = import_files(session, "orders", sorted(Path("retail").glob("*.csv.gz")), ...)

With a kind (``orders``), every file is imported as that kind, in the order of the file names.
With ``auto``, each file's table is recognised — the tables of an Olist export by their
headers, the other files by their format (a Shopify orders export holds orders, a Stripe
customers export customers) or, for a plain table, by the columns it has — and the files are
imported in dependency order: customers, then orders (with their lines and payments), then
subscriptions, interactions and feedback, so that each finds what it refers to.

Everything happens in the caller's one transaction: a file that is refused refuses the whole
import (:class:`~soloist.errors.ImportRefusedError` naming the file, row and column) and nothing
is written. A dry run imports into a savepoint and rolls it back, so its counts are exactly what
the import would do, across files. Importing the same files again changes nothing.

``progress`` hears ``("file:<name>", k, n)`` before the k-th of n imports (``("file:", n, n)``
at the end), ``("step:<step>", i, 4)`` within it and ``("rows", rows read so far, 0)``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from soloist.domain._progress import Progress, no_progress
from soloist.domain.imports.pipeline import (
    REQUIRED,
    ImportOptions,
    ImportReport,
    import_table,
)
from soloist.errors import ImportRefusedError, UsageError
from soloist.imports import FORMATS, KINDS, ImportFormat, RawTable, read_table
from soloist.imports.formats.olist import assemble, olist_role
from soloist.imports.raw import ReadLimits

# The order kinds are written in: what a later kind refers to is there first.
ORDER = ("customers", "orders", "subscriptions", "interactions", "feedback")
AUTO = ("auto", "bundle")
_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".dat", ".log")


@dataclass
class FileEntry:
    """One file of the import: its table (the kind it was imported as, or the export's table:
    ``items``), its format, its rows, and what it was used for (``orders``, ``order lines``,
    ``not used``)."""

    file: str
    table: str
    format: str
    rows_read: int
    used_for: str


@dataclass
class BundleReport:
    """The outcome of a multi-file import: the totals of every file (the keys of a single
    import's report) and each import's own report."""

    kind: str
    status: str  # imported | unchanged | dry_run
    files: list[FileEntry] = field(default_factory=list)
    imports: list[ImportReport] = field(default_factory=list)
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    details: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Step:
    """One import to make: ``kind`` from ``path`` (read when its turn comes) or from a table
    already made (an export's joined tables)."""

    kind: str
    path: Path
    label: str
    table: RawTable | None = None
    fmt: ImportFormat | None = None
    listed: bool = False  # its files are in the report already (an export's joined tables)


def data_files(paths: Sequence[Path | str]) -> list[Path]:
    """The files named, a folder standing for the data files in it (by name; hidden files and
    READMEs left out). A path that does not exist is refused as it was typed."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and p.name.removesuffix(".gz").lower().endswith(_DATA_SUFFIXES)
            )
            if not inside:
                raise _refused(str(given), "this folder holds no CSV, TSV, text or .xlsx file")
            found.extend(inside)
        elif path.exists():
            found.append(path)
        else:
            raise _refused(str(given), "no such file or folder")
    duplicates = [p for p, n in Counter(p.resolve() for p in found).items() if n > 1]
    if duplicates:
        raise _refused(str(duplicates[0]), "the file is named twice")
    return found


def _refused(name: str, message: str) -> ImportRefusedError:
    return ImportRefusedError(
        f"{name}: {message}",
        file=name,
        errors=[{"file": name, "row": None, "column": None, "message": message}],
    )


def guess_kind(table: RawTable, fmt: ImportFormat) -> str | None:
    """The kind of data a table holds: its format's, when the format holds one kind only;
    else the first of orders, subscriptions, feedback and interactions whose needed columns it
    has; else customers when it names people; else None."""
    if len(fmt.kinds) == 1:
        return fmt.kinds[0]
    for kind in ("orders", "subscriptions", "feedback", "interactions", "customers"):
        mapping = fmt.map_columns(table, kind)
        if all(any(name in mapping for name in names) for names in REQUIRED[kind]):
            return kind
    return None


def _plan(kind: str, files: list[Path], report: BundleReport, limits: ReadLimits) -> list[_Step]:
    """The imports to make, in the order to make them."""
    if kind not in AUTO:
        return [_Step(kind, path, path.name) for path in files]
    steps: list[_Step] = []
    olist: dict[str, RawTable] = {}
    for path in files:
        table = read_table(path, limits)
        role = olist_role(table)
        if role is not None:
            if role in olist:
                raise _refused(
                    path.name, f"a second Olist {role} table (the first: {olist[role].path.name})"
                )
            olist[role] = table
            continue
        fmt = FORMATS.detect(table)
        found = guess_kind(table, fmt)
        if found is None:
            raise _refused(
                path.name,
                "cannot tell which kind of data this file holds; import it alone with its "
                f"kind: soloist import {'|'.join(KINDS)} {path.name}",
            )
        steps.append(_Step(found, path, path.name, table, fmt))
    if olist:
        assembled = assemble(olist)
        report.notes.extend(assembled.notes)
        for part in assembled.parts:
            more = len(part.files) - 1
            label = part.files[0] + (f" (+{more} file{'s' * (more > 1)})" if more else "")
            steps.append(_Step(part.kind, part.table.path, label, part.table, part.fmt, True))
        for role, table in olist.items():
            used = assembled.used.get(table.path.name, "not used")
            report.files.append(FileEntry(table.path.name, role, "olist", len(table.rows), used))
    return sorted(steps, key=lambda step: ORDER.index(step.kind))


def _add(report: BundleReport, step: _Step, one: ImportReport) -> None:
    """Count one import into the totals."""
    report.imports.append(one)
    if not step.listed:
        report.files.append(FileEntry(one.file, one.kind, one.format, one.rows_read, one.kind))
    for key in ("imported", "updated", "unchanged", "skipped", "invalid"):
        setattr(report, key, getattr(report, key) + getattr(one, key))
    counted = ("imported", "updated", "unchanged")
    mine = report.by_kind.setdefault(one.kind, dict.fromkeys(counted, 0))
    for key in mine:
        mine[key] += getattr(one, key)
    for key in ("created", "updated"):  # a customer matched by every file is counted once
        report.customers[key] = report.customers.get(key, 0) + one.customers.get(key, 0)
    for key, value in one.details.items():
        report.details[key] = report.details.get(key, 0) + value
    report.errors.extend({"file": one.file, **error} for error in one.errors)
    report.notes.extend(f"{one.file}: {note}" for note in one.notes)


def import_files(
    session: Session,
    kind: str,
    paths: Sequence[Path | str],
    options: ImportOptions | None = None,
    actor: str = "system",
    *,
    default_currency: str = "USD",
    progress: Progress | None = None,
) -> BundleReport:
    """Import the files (folders: the data files in them) as ``kind``, or as what each holds
    (``auto``), atomically and in dependency order; see the module's text."""
    options = options or ImportOptions()
    if kind not in (*KINDS, *AUTO):
        raise UsageError(f"Unknown import kind {kind!r}; use one of {', '.join(KINDS)}, or auto.")
    tell = progress or no_progress
    files = data_files(paths)
    report = BundleReport(kind=kind, status="dry_run" if options.dry_run else "imported")
    report.dry_run = options.dry_run
    steps = _plan(kind, files, report, options.limits)
    inner = dataclasses.replace(options, dry_run=False)
    savepoint = session.begin_nested() if options.dry_run else None
    rows_before = 0
    try:
        for number, step in enumerate(steps):
            tell(f"file:{step.label}", number, len(steps))

            def heard(stage: str, done: int, total: int, base: int = rows_before) -> None:
                if stage == "rows":
                    tell("rows", base + done, 0)
                else:
                    tell(stage, done, total)

            table = step.table if step.table is not None else read_table(step.path, options.limits)
            step.table = None  # read once, let go once imported
            try:
                one = import_table(
                    session,
                    step.kind,
                    table,
                    inner,
                    actor,
                    default_currency=default_currency,
                    fmt=step.fmt,
                    progress=heard,
                )
            except ImportRefusedError as exc:
                raise _whole_refused(exc, step, len(steps)) from None
            one.file = step.label
            one.dry_run = options.dry_run
            if options.dry_run:
                one.status, one.batch_id = "dry_run", None
            rows_before += len(table.rows)
            _add(report, step, one)
            del table
        tell("file:", len(steps), len(steps))  # all done
    finally:
        if savepoint is not None:
            savepoint.rollback()
    report.rows_read = sum(entry.rows_read for entry in report.files)
    if not options.dry_run and all(one.status == "unchanged" for one in report.imports):
        report.status = "unchanged"
    return report


def _whole_refused(exc: ImportRefusedError, step: _Step, count: int) -> ImportRefusedError:
    """The refusal of one file as the refusal of the whole import: the errors name the file."""
    details = dict(exc.details)
    file = details.get("file") or step.label
    details["errors"] = [{"file": file, **error} for error in details.get("errors", [])]
    details["file"] = file
    more = f" None of the {count} imports was made." if count > 1 else ""
    return ImportRefusedError(exc.message + more, **details)
