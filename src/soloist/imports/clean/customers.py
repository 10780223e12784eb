"""Who each row is about, and the customers file itself.

Every kind of file names its customer by the same cells (:data:`IDENTITY_FIELDS`): the format's
customer id, else the e-mail, else the phone, else the name. :func:`customer_of` (row by row)
and :func:`customer_keys` (whole columns, for orders) give each row's customer key and collect
the customers in ``Cleaned.customers`` with the first value the file gives for each detail
(:data:`CUSTOMER_DETAILS`). A detail is text, cut to its column's width, unless it has a reader
of its own below (the country, the birthday).

Every row that names its customer is checked the same way: a malformed e-mail or a cell that is
not a country makes the row invalid (named by row and column; ``--skip-invalid`` leaves it out),
wherever in the file it is — not only in the first row of its customer. A country cell that
names no one country (``Unspecified``, ``European Community``, ``Channel Islands``, as the UCI
Online Retail log has) is left blank and counted in a note
(:mod:`~soloist.imports.clean.countries`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from soloist.imports.base import ImportFormat, RecordColumns
from soloist.imports.clean.countries import read_country
from soloist.imports.clean.drafts import Cleaned, CleanOptions, CustomerRef
from soloist.imports.clean.rows import Row, kept_rows, moment
from soloist.imports.columns import text_column
from soloist.imports.raw import RawTable, shown
from soloist.imports.synonyms import CUSTOMER_DETAILS, FIELDS, IDENTITY_FIELDS
from soloist.imports.values import clean_text, parse_date
from soloist.vocabulary import WIDTHS, clipped

# A file's customer id, prefixed by its format's source, must fit customers.external_id.
MAX_CUSTOMER_ID = 100
TOO_LONG = f"customer id longer than {MAX_CUSTOMER_ID} characters"

# Details with a reader of their own, read from a customers file only (a bad one is refused).
_TYPED: dict[str, tuple[Callable[[str, CleanOptions], Any], str]] = {
    "birthday": (lambda text, options: parse_date(text, dayfirst=options.dayfirst), "bad date"),
}
# Details read as text (cut to their column's width) from every row that names its customer:
# those the kind's files can hold, but the name (part of the identity), the country (read by
# :func:`~soloist.imports.clean.countries.read_country`) and the typed ones.
_TEXT: dict[str, tuple[str, ...]] = {
    kind: tuple(
        name
        for name in CUSTOMER_DETAILS
        if name in fields and name not in ("name", "country") and name not in _TYPED
    )
    for kind, fields in FIELDS.items()
}

Text = Callable[[str], str | None]  # a record's cell by field, read as text

# An address: a local part of dot-separated atoms, an @, and a domain of at least two labels
# (letters, digits and inner hyphens; any script) ending in a top-level domain of letters.
_ATOM = r"[^\s@.,;:<>()\[\]\"\\]+"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[^\W\d_]{{2,}}|xn--[a-z0-9-]+)$")


@dataclass(frozen=True)
class Refused:
    """Why a row's customer cells are refused: the field, the message and a countable reason."""

    field: str
    message: str
    reason: str


def email_problem(text: str) -> str | None:
    """Why ``text`` (an e-mail cell, read as text) is not an e-mail address, or None."""
    if EMAIL.match(text.lower()):
        return None
    return f"not an e-mail address: {shown(text)}"


def _detail_text(name: str, text: str | None) -> str | None:
    column = f"customers.{name}"
    return clipped(text, column) if column in WIDTHS else text


def identity(fmt: ImportFormat, text: Text) -> tuple[str | None, str | None, str | None] | Refused:
    """(key, external id, name) of a row's customer — key None when the row names nobody; or
    why its cells are refused (a customer id too long, a malformed e-mail, an unknown
    country)."""
    found = _identity(fmt, text)
    if isinstance(found, Refused) or found[0] is None:
        return found
    email = text("email")
    if email and (problem := email_problem(email)):
        return Refused("email", problem, "bad e-mail")
    country = text("country")
    if country:
        try:
            read_country(country)
        except ValueError as exc:
            return Refused("country", str(exc), "unknown country")
    return found


def _identity(fmt: ImportFormat, text: Text) -> tuple[str | None, str | None, str | None] | Refused:
    external = text("customer_id")
    email = text("email")
    phone = text("phone")
    name = text("name")
    first, last = text("first_name"), text("last_name")
    if not name and (first or last):
        name = " ".join(part for part in (first, last) if part)
    if external and len(external) > MAX_CUSTOMER_ID:
        return Refused("customer_id", TOO_LONG, "bad customer id")
    external_id = f"{fmt.source}:{external}" if external else None
    if external_id:
        key = external_id
    elif email:
        key = "email:" + email.lower()
    elif phone:
        key = "phone:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    elif name:
        key = f"{fmt.source}:name:{name.lower()}"[: WIDTHS["customers.external_id"]]
        external_id = key
    else:
        return None, None, None
    return key, external_id, name


def _register(
    out: Cleaned,
    key: str,
    row: int,
    external_id: str | None,
    text: Text,
    name: str | None,
    unknown_weight: int = 1,
) -> None:
    """Collect the row's customer in ``out.customers``: the first value given for each field."""
    country = None
    country_text = text("country")
    if country_text:
        country = read_country(country_text)  # checked by identity()
        if country is None:
            out.unknown_countries[country_text] += unknown_weight
    ref = out.customers.get(key)
    if ref is None:
        ref = out.customers[key] = CustomerRef(key=key, row=row, external_id=external_id)
    ref.email = ref.email or text("email")
    ref.phone = ref.phone or text("phone")
    ref.fill("name", clipped(name, "customers.name"))
    for detail in _TEXT[out.kind]:
        ref.fill(detail, _detail_text(detail, text(detail)))
    ref.fill("country", country)


def customer_of(row: Row, fmt: ImportFormat) -> str | None:
    """The key of this row's customer (collected in ``row.out.customers``); None when the row
    names nobody or its customer cells are refused (reported)."""
    found = identity(fmt, row.text)
    if isinstance(found, Refused):
        row.fail(found.field, found.message, found.reason)
        return None
    key, external_id, name = found
    if key is None:
        return None
    _register(row.out, key, row.record.row, external_id, row.text, name)
    return key


def customer_keys(
    fmt: ImportFormat, columns: RecordColumns, names: Mapping[str, str], out: Cleaned
) -> pl.DataFrame:
    """:func:`customer_of` for every record: ``key`` (null: names nobody) and
    ``customer_failed``, collecting the customers in ``out.customers``.

    Records with the same identifying cells get the same answer, and a record identical to an
    earlier one cannot change the collected customer, so each distinct combination is worked
    out once, in the order of its first record (the same result as record by record)."""
    frame = columns.frame
    wanted = dict.fromkeys((*IDENTITY_FIELDS, "country", *_TEXT[out.kind]))
    present = [name for name in wanted if name in frame.columns]
    if not present:
        return pl.DataFrame(
            {
                "key": pl.repeat(None, frame.height, dtype=pl.String, eager=True),
                "customer_failed": pl.repeat(False, frame.height, eager=True),
            }
        )
    texts = pl.DataFrame([text_column(frame, name, clean_text) for name in present])
    combos = (
        texts.with_row_index("_first")
        .group_by(present, maintain_order=True)
        .agg(pl.col("_first").first(), pl.len().alias("_weight"))
    )
    rows = frame["row"]
    weighted = "country" in present
    answers: list[tuple[str | None, bool, str | None, str | None, str | None]] = []
    for values in combos.iter_rows():
        cells = dict(zip(present, values, strict=False))
        found = identity(fmt, cells.get)
        if isinstance(found, Refused):
            field = names.get(found.field) or found.field
            answers.append((None, True, field, found.message, found.reason))
            continue
        key, external_id, name = found
        answers.append((key, False, None, None, None))
        if key is not None:
            weight = values[-1] if weighted else 1
            _register(out, key, rows[values[-2]], external_id, cells.get, name, weight)
    schema = {
        "key": pl.String,
        "customer_failed": pl.Boolean,
        "_column": pl.String,
        "_message": pl.String,
        "_reason": pl.String,
    }
    mapping = combos.select(present).hstack(pl.DataFrame(answers, schema=schema, orient="row"))
    keys = texts.join(mapping, on=present, how="left", nulls_equal=True, maintain_order="left")
    failed = keys.select(rows, "_column", "_message", "_reason").filter(keys["customer_failed"])
    for row, column, message, reason in failed.iter_rows():
        out.add_error(row, column, message, reason)
    return keys.select("key", "customer_failed")


def _with(parse: Callable[[str, CleanOptions], Any], options: CleanOptions) -> Callable[[str], Any]:
    return lambda text: parse(text, options)


def _tags(text: str) -> set[str]:
    """``"VIP, 老客户; Wholesale"`` → ``{"vip", "老客户", "wholesale"}``, each cut to fit."""
    parts = (t.strip().lower() for t in text.replace("，", ",").replace(";", ",").split(","))
    return {t[: WIDTHS["customer_tags.tag"]] for t in parts if t}


def clean_customers(
    table: RawTable,
    fmt: ImportFormat,
    mapping: Mapping[str, int],
    options: CleanOptions,
    out: Cleaned,
) -> None:
    """A customers file: every row one customer (rows of one customer add what is missing)."""
    for row in kept_rows(table, fmt, mapping, out):
        key = customer_of(row, fmt)
        typed = {
            name: row.typed(name, _with(parse, options), reason)
            for name, (parse, reason) in _TYPED.items()
        }
        created = moment(row, "created_at", options)
        if key is None:
            row.missing_customer(None)
            continue
        ref = out.customers[key]
        for name, value in typed.items():
            ref.fill(name, value)
        tags = row.text("tags")
        if tags:
            ref.tags = sorted({*(ref.tags or []), *_tags(tags)})
        if created is not None and (ref.first_seen is None or created < ref.first_seen):
            ref.first_seen = created
