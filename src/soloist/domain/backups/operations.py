"""``soloist backup``, ``backup verify`` and ``restore``: a consistent, encrypted, checked copy
of a workspace's database that goes back into an empty database of any of the three engines.

A backup is made in one read transaction (a snapshot: SQLite in WAL mode and PostgreSQL and
MariaDB at REPEATABLE READ), so it is consistent while the app goes on writing. It holds every
table's rows (see :mod:`.tables`), each table's row count and SHA-256, and the workspace's master
key, all sealed under the passphrase (see :mod:`.archive`); the master key comes along so that a
restore on a new machine can read the encrypted fields and find customers by e-mail. A restore
reads the whole file and checks it before it writes anything, writes every row in one
transaction, reads the tables back and compares their checksums before it commits: a damaged
file, a wrong passphrase or a mismatch leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.backups.archive import BackupDamagedError, SealedWriter, open_chunks
from soloist.domain.backups.tables import (
    RowTally,
    decode,
    encoded_rows,
    line_of,
)
from soloist.domain.customers import reindex_customer_names
from soloist.domain.service import reindex_ticket_subjects
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import READ_ONLY_OPTION, Database
from soloist.storage.kept import KEPT_FILE, forget_kept_figures
from soloist.storage.migrate import (
    current_revision,
    head_revision,
    is_earlier_revision,
    upgrade_database,
)
from soloist.storage.models import Base

#: Rows the migrations write into a new database; a restore replaces them with the backup's.
SEEDED_TABLES = ("deal_stages", "sla_policies")
INSERT_BATCH = 500


@dataclass
class TableSummary:
    name: str
    rows: int
    sha256: str


@dataclass
class BackupSummary:
    path: Path
    created_at: str
    revision: str
    engine: str
    tables: list[TableSummary] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "created_at": self.created_at,
            "schema_revision": self.revision,
            "engine": self.engine,
            "tables": len(self.tables),
            "rows": self.rows,
            "checksums": {t.name: {"rows": t.rows, "sha256": t.sha256} for t in self.tables},
        }


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _snapshot(database: Database) -> Connection:
    connection = database.engine.connect()
    if database.backend == "sqlite":
        return connection.execution_options(**{READ_ONLY_OPTION: True})
    return connection.execution_options(isolation_level="REPEATABLE READ")


def make_backup(database: Database, path: Path, passphrase: str) -> BackupSummary:
    """Write an encrypted backup of ``database`` to ``path`` (replaced only once complete)."""
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    partial = path.with_name(path.name + ".partial")
    revision = current_revision(database.engine) or ""
    with _snapshot(database) as connection, connection.begin():
        summary = BackupSummary(path, created, revision, database.backend)
        meta = {"created_at": created, "schema_revision": revision, "engine": database.backend}
        with partial.open("wb") as handle:
            partial.chmod(0o600)
            sealed = SealedWriter(handle, passphrase, meta)
            key = database.settings.read_master_key()
            sealed.write(_control({"kind": "workspace", "master_key": key}))
            for table in _tables():
                sealed.write(_control({"kind": "table", "name": table.name,
                                       "columns": [c.name for c in table.columns]}))  # fmt: skip
                digest, count = _hasher(), 0
                for row in encoded_rows(connection, table):
                    line = line_of(row) + b"\n"
                    digest.update(line)
                    sealed.write(line)
                    count += 1
                summary.tables.append(TableSummary(table.name, count, digest.hexdigest()))
                sealed.write(_control({"kind": "end", "name": table.name, "rows": count,
                                       "sha256": digest.hexdigest()}))  # fmt: skip
            sealed.close()
    partial.replace(path)
    return summary


def _hasher() -> Any:
    return hashlib.sha256()


def _control(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True).encode() + b"\n"


@dataclass
class _Parsed:
    header: dict[str, Any]
    master_key: str
    tables: dict[str, list[str]]
    summary: list[TableSummary]


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        yield from complete
    if rest:
        raise BackupDamagedError("The backup ends in the middle of a record.")


def _parse(source: IO[bytes], passphrase: str) -> _Parsed:
    """Decrypt and check the whole file: every chunk's tag, every table's count and SHA-256
    (rows are read and hashed, not kept: a restore streams them in a second pass)."""
    header, chunks = open_chunks(source, passphrase)
    master_key, tables, summary = "", {}, []
    current: str | None = None
    columns: list[str] = []
    digest, count = _hasher(), 0
    for line in _lines(chunks):
        if line.startswith(b"["):
            if current is None:
                raise BackupDamagedError("The backup holds a row outside any table.")
            digest.update(line + b"\n")
            count += 1
            continue
        record = json.loads(line)
        kind = record.get("kind")
        if kind == "workspace":
            master_key = str(record["master_key"])
        elif kind == "table":
            current, columns = record["name"], record["columns"]
            digest, count = _hasher(), 0
        elif kind == "end":
            expected = (current, count, digest.hexdigest())
            if (record.get("name"), record.get("rows"), record.get("sha256")) != expected:
                raise BackupDamagedError(f"The backup's table {current} fails its checksum.")
            assert current is not None
            tables[current] = columns
            summary.append(TableSummary(current, count, digest.hexdigest()))
            current = None
        else:
            raise BackupDamagedError(f"The backup holds an unknown record {kind!r}.")
    if current is not None or not master_key:
        raise BackupDamagedError("The backup is incomplete.")
    return _Parsed(header, master_key, tables, summary)


def verify_backup(path: Path, passphrase: str) -> BackupSummary:
    """Check ``path`` end to end without restoring it; its summary, or BackupDamagedError."""
    with _open(path) as source:
        parsed = _parse(source, passphrase)
    header = parsed.header
    return BackupSummary(path, str(header.get("created_at")), str(header.get("schema_revision")),
                         str(header.get("engine")), parsed.summary)  # fmt: skip


def open_restore_target(settings: Settings, path: Path, passphrase: str) -> Database:
    """The database to restore ``path`` into, migrated: on a new machine the workspace folder
    is made and given the backup's master key (``master.key``, 0600) first. The file is checked
    end to end before anything is written."""
    with _open(path) as source:
        master_key = _parse(source, passphrase).master_key
    if settings.master_key is None and not settings.key_file.exists():
        settings.workspace.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(settings.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(master_key + "\n")
    database = Database(settings)
    upgrade_database(database.engine)
    return database


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ValidationError(f"Cannot read {path}: {exc.strerror or exc}") from exc


def restore_backup(database: Database, path: Path, passphrase: str) -> BackupSummary:
    """Restore ``path`` into ``database``, which must be empty and migrated to the backup's
    schema revision; all or nothing."""
    with _open(path) as source:
        parsed = _parse(source, passphrase)
    revision = str(parsed.header.get("schema_revision"))
    earlier = revision != head_revision()
    if earlier and not is_earlier_revision(revision):
        raise ValidationError(
            f"The backup was made at schema revision {revision}, which this Soloist does not "
            f"know (it is at {head_revision()}): a newer Soloist made it. Restore it with that "
            "version or a later one."
        )
    if parsed.master_key != database.settings.read_master_key():
        raise ValidationError(
            "The backup was made under another master key than this workspace's. Restore it "
            "into a new workspace: `soloist restore FILE --workspace NEW_FOLDER` takes the "
            "backup's key."
        )
    known = {t.name: t for t in _tables()}
    missing = set(parsed.tables) - set(known)
    if missing:
        raise ValidationError(
            f"The backup holds tables this Soloist does not know: {', '.join(sorted(missing))}."
        )
    if earlier:
        _check_columns(parsed.tables, known)
    with database.engine.connect() as connection, connection.begin():
        for table in _tables():
            if table.name in SEEDED_TABLES:
                continue
            if connection.scalar(select(func.count()).select_from(table)):
                raise ConflictError(
                    f"The database is not empty (table {table.name} holds rows): restore into "
                    "a new, empty database."
                )
        for name in SEEDED_TABLES:
            connection.execute(delete(known[name]))
        tallies: dict[str, RowTally] = {}
        with _open(path) as source:  # the second pass streams the rows in, table by table
            for name, columns, rows in _sections(source, passphrase):
                tallies[name] = RowTally()
                _insert(connection, known[name], columns, tallies[name].counting(rows))
        if database.backend == "postgresql":
            _reset_sequences(connection)
        if earlier:  # tables a later migration derived from the rows are derived again
            with Session(bind=connection) as session:
                reindex_customer_names(session)
                reindex_ticket_subjects(session)
                session.flush()
        # Row set against row set: the file's own order (its checksums were checked on reading)
        # is the source engine's key order, which another engine's collation may not repeat.
        for table in _tables():
            _check_rows_came_back(connection, table, parsed.tables, tallies)
    # figures kept from the database as it was before must not be shown for the restored one
    forget_kept_figures(database.settings.workspace / KEPT_FILE)
    header = parsed.header
    return BackupSummary(path, str(header.get("created_at")), revision,
                         str(header.get("engine")), parsed.summary)  # fmt: skip


def _check_rows_came_back(
    connection: Connection,
    table: Table,
    backed_up: dict[str, list[str]],
    tallies: dict[str, RowTally],
) -> None:
    """The table holds the backup's rows, compared on the backup's columns as a set: the key
    order differs between engines (a sealed tag sorts by each engine's collation) and between
    schema revisions."""
    if table.name not in backed_up:
        return
    restored = RowTally.of_table(connection, table, backed_up[table.name])
    sent = tallies[table.name]
    if (restored.count, restored.total) != (sent.count, sent.total):
        raise ValidationError(
            f"Table {table.name} did not come back identical ({restored.count} rows of "
            f"{sent.count}); nothing was restored."
        )


def _check_columns(backed_up: dict[str, list[str]], known: dict[str, Table]) -> None:
    """A backup of an earlier schema revision goes into today's tables as the values it holds
    (decrypted, logical), when every column it has still exists and every column added since
    may be left empty or takes a default; anything else is refused before writing."""
    for name, columns in sorted(backed_up.items()):
        table = known[name]
        gone = [c for c in columns if c not in table.c]
        if gone:
            raise ValidationError(
                f"The backup's table {name} has columns this Soloist no longer has "
                f"({', '.join(gone)}): restore it with the version that made it, then upgrade."
            )
        required = [
            c.name
            for c in table.columns
            if c.name not in columns
            and not c.nullable
            and c.default is None
            and c.server_default is None
            and not (c.primary_key and c.autoincrement)
        ]
        if required:
            raise ValidationError(
                f"The backup's table {name} lacks columns this Soloist needs "
                f"({', '.join(required)}): restore it with the version that made it, then upgrade."
            )


def _sections(
    source: IO[bytes], passphrase: str
) -> Iterator[tuple[str, list[str], Iterator[list[Any]]]]:
    """Each table of the file with its rows as they are read (each table's rows must be used up
    before the next table is asked for); the chunks' tags and the checksums are checked again,
    so a file changed since the first pass fails the restore's transaction."""
    _, chunks = open_chunks(source, passphrase)
    lines = _lines(chunks)
    for line in lines:
        record = json.loads(line)
        if record.get("kind") == "workspace":
            continue
        if record.get("kind") != "table":
            raise BackupDamagedError("The backup changed while it was being restored.")
        yield record["name"], record["columns"], _section_rows(lines, record["name"])


def _section_rows(lines: Iterator[bytes], name: str) -> Iterator[list[Any]]:
    digest, count = _hasher(), 0
    for line in lines:
        if line.startswith(b"["):
            digest.update(line + b"\n")
            count += 1
            yield json.loads(line)
            continue
        end = json.loads(line)
        if (end.get("kind"), end.get("name"), end.get("rows"), end.get("sha256")) != (
            "end",
            name,
            count,
            digest.hexdigest(),
        ):
            raise BackupDamagedError(f"The backup's table {name} fails its checksum.")
        return
    raise BackupDamagedError("The backup is cut short.")


def _insert(
    connection: Connection, table: Table, columns: list[str], rows: Iterator[list[Any]]
) -> None:
    present = [c for c in columns if c in table.c]
    # A row pointing at a later row of its own table (a merged customer) waits for it.
    self_refs = [
        c for c in present if any(fk.column.table is table for fk in table.c[c].foreign_keys)
    ]
    later: list[tuple[Any, dict[str, Any]]] = []
    primary = [c.name for c in table.primary_key.columns]
    batch: list[dict[str, Any]] = []
    for row in rows:
        values = {
            name: decode(value) for name, value in zip(columns, row, strict=True) if name in table.c
        }
        if self_refs and any(values.get(c) is not None for c in self_refs):
            # the update sets the columns an update would stamp (updated_at) back as they were
            kept = [*self_refs, *(c.name for c in table.columns if c.onupdate is not None)]
            later.append(({k: values[k] for k in primary}, {c: values.get(c) for c in kept}))
            values.update(dict.fromkeys(self_refs))
        batch.append(values)
        if len(batch) >= INSERT_BATCH:
            connection.execute(insert(table), batch)
            batch = []
    if batch:
        connection.execute(insert(table), batch)
    for key, refs in later:
        match = [table.c[k] == v for k, v in key.items()]
        connection.execute(update(table).where(*match).values(refs))


def _reset_sequences(connection: Connection) -> None:
    for table in _tables():
        if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
            ))  # fmt: skip


SCHEDULED_PATTERN = "soloist-*.backup"


def backup_folder(settings: Settings) -> Path:
    return settings.backup_folder or settings.workspace / "backups"


def scheduled_backup(database: Database, now: dt.datetime) -> dict[str, Any]:
    """The worker's backup: into ``backup_folder`` under a timestamped name, then the oldest
    beyond ``backup_keep`` deleted (only files of that name pattern, only once the new one is
    complete)."""
    settings = database.settings
    if settings.backup_passphrase is None:
        raise ValidationError(
            "A scheduled backup needs a passphrase: set SOLOIST_BACKUP_PASSPHRASE "
            "(or SOLOIST_BACKUP_PASSPHRASE_FILE) for the worker."
        )
    folder = backup_folder(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"soloist-{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}.backup"
    summary = make_backup(database, path, settings.backup_passphrase.get_secret_value())
    removed = rotate_backups(folder, settings.backup_keep)
    return {"path": str(path), "rows": summary.rows, "removed": [p.name for p in removed]}


def rotate_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups in ``folder``; the ones deleted."""
    backups = sorted(folder.glob(SCHEDULED_PATTERN))  # the timestamped names sort by time
    old = backups[: max(0, len(backups) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    return old
