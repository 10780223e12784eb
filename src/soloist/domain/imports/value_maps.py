"""What the owner says a file's words mean: ``--map-value status:invoiced=paid``.

A value map is ``{field: {word: value}}``. It is applied to the file's cells before the format
and the cleaning read them, so a mapped word is read exactly as the value it maps to would be
(``invoiced`` → ``paid`` is a paid order). Words are compared as statuses are — case, width and
surrounding spaces ignored — once per distinct cell of the column, never per row.

The same map is given on the command line (``--map-value FIELD:WORD=VALUE``, repeatable) or in a
file (``--map-values FILE``): a TOML table per field, or a CSV of ``field,word,value`` rows.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from soloist.errors import ValidationError
from soloist.imports import RawTable
from soloist.imports.raw import FrameRows
from soloist.imports.synonyms import CHANNEL_SYNONYMS, DIRECTION_SYNONYMS, FIELDS
from soloist.imports.values import (
    INTERVAL_SYNONYMS,
    ORDER_STATUSES,
    STATUS_SYNONYMS,
    SUBSCRIPTION_SYNONYMS,
    status_word,
)

ValueMap = dict[str, dict[str, str]]  # field -> {word as status_word() writes it: value}
MAX_MAP_FILE_BYTES = 1024 * 1024

# The values a mapped word may become, where a field has a closed list (kind -> field -> words
# the import reads). A word of the list's own synonyms is fine too (``已付款``).
_CLOSED: dict[str, dict[str, dict[str, str]]] = {
    "orders": {"status": STATUS_SYNONYMS},
    "subscriptions": {"status": SUBSCRIPTION_SYNONYMS, "interval": INTERVAL_SYNONYMS},
    "interactions": {"channel": CHANNEL_SYNONYMS, "direction": DIRECTION_SYNONYMS},
}
_MAPPABLE = sorted({name for fields in FIELDS.values() for name in fields})


def _add(found: ValueMap, field: str, word: str, value: str, where: str) -> None:
    field, value = field.strip().lower(), value.strip()
    if field not in _MAPPABLE:
        raise ValidationError(
            f"{where}: {field!r} is not a field of any import kind "
            "(use e.g. status, channel, survey or country)"
        )
    if not word.strip():
        raise ValidationError(f"{where}: the word to map is empty")
    found.setdefault(field, {})[status_word(word)] = value


def parse_value_maps(pairs: Iterable[str]) -> ValueMap:
    """``["status:invoiced=paid", "status:unavailable=cancelled"]`` → a value map."""
    found: ValueMap = {}
    for pair in pairs:
        field, sep, rest = pair.partition(":")
        word, equals, value = rest.rpartition("=")
        if not sep or not equals:
            raise ValidationError(
                f"--map-value {pair!r}: write it as FIELD:WORD=VALUE, e.g. status:invoiced=paid"
            )
        _add(found, field, word, value, f"--map-value {pair!r}")
    return found


def read_value_map_file(path: Path | str) -> ValueMap:
    """A value map from a TOML file (``[status]`` then ``invoiced = "paid"``) or a CSV file of
    ``field,word,value`` rows (a header row naming them is allowed)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise ValidationError(f"--map-values {path}: cannot be read ({reason})") from None
    if len(data) > MAX_MAP_FILE_BYTES:
        raise ValidationError(f"--map-values {path}: a mapping file is at most 1 MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="strict")
    found: ValueMap = {}
    if path.suffix.lower() == ".toml":
        try:
            tables = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"--map-values {path}: not valid TOML ({exc})") from None
        for field, words in tables.items():
            if not isinstance(words, dict):
                raise ValidationError(
                    f'--map-values {path}: {field!r} must be a table of word = "value"'
                )
            for word, value in words.items():
                _add(found, field, str(word), str(value), f"--map-values {path}, [{field}]")
        return found
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [c.lower() for c in cells[:3]] == ["field", "word", "value"]:
            continue
        if len(cells) != 3:
            raise ValidationError(
                f"--map-values {path}, row {number}: write field,word,value (3 cells), "
                f"got {len(cells)}"
            )
        _add(found, cells[0], cells[1], cells[2], f"--map-values {path}, row {number}")
    return found


def merge_value_maps(*maps: Mapping[str, Mapping[str, str]]) -> ValueMap:
    """Later maps win for the same field and word (the command line over a file)."""
    merged: ValueMap = {}
    for one in maps:
        for field, words in one.items():
            merged.setdefault(field, {}).update(words)
    return merged


def check_value_map(kind: str, value_map: Mapping[str, Mapping[str, str]]) -> None:
    """Refuse a word mapped to a value the ``kind`` cannot hold (``status:x=payed``)."""
    for field, words in value_map.items():
        allowed = _CLOSED.get(kind, {}).get(field)
        if allowed is None:
            continue
        for word, value in words.items():
            if status_word(value) not in allowed:
                closed = allowed is STATUS_SYNONYMS
                choices = ORDER_STATUSES if closed else sorted(set(allowed.values()))
                raise ValidationError(
                    f"--map-value {field}:{word}={value}: {value!r} is not a {kind} {field} "
                    f"(use {', '.join(choices)})"
                )


def apply_value_map(
    table: RawTable, mapping: Mapping[str, int], kind: str, value_map: ValueMap
) -> list[str]:
    """Rewrite the mapped words in ``table``'s cells of each mapped field, in place; what was
    changed, as notes for the report (``status: 'invoiced' → 'paid' (9 rows)``)."""
    notes: list[str] = []
    if not value_map:
        return notes
    check_value_map(kind, value_map)
    for field, words in value_map.items():
        index = mapping.get(field)
        if field not in FIELDS[kind]:
            continue
        if index is None:
            notes.append(f"{field}: the file has no such column; its --map-value was not used")
            continue
        cells = table.stripped_series(index)
        counts = cells.value_counts()
        replace: dict[str, str] = {}
        for cell, count in counts.iter_rows():
            if cell is None:
                continue
            target = words.get(status_word(cell))
            if target is not None and target != cell:
                replace[cell] = target
                notes.append(f"{field}: {cell!r} read as {target!r} ({count} rows)")
        if replace:
            _rewrite(table, index, cells, replace)
    return notes


def _rewrite(table: RawTable, index: int, cells: pl.Series, replace: dict[str, str]) -> None:
    """Put the mapped words into column ``index`` of ``table``."""
    if table.frame is not None:
        name = table.frame.columns[index]
        hit = cells.is_in(list(replace))
        column = (
            pl.select(
                pl.when(hit)
                .then(cells.replace_strict(replace, default=None))
                .otherwise(table.frame.to_series(index))
            )
            .to_series()
            .alias(name)
        )
        table.frame = table.frame.with_columns(column)
        table.stripped_frame = None
        table.unpadded.discard(index)
        table.rows = FrameRows(table.frame)
        return
    for row in table.rows:
        if index < len(row):
            target = replace.get(row[index].strip())
            if target is not None:
                row[index] = target
