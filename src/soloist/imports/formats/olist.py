"""Olist's Brazilian e-commerce export: one table per file, joined here into what Soloist keeps.

The export (Kaggle ``olistbr/brazilian-ecommerce``) holds customers, orders, order items,
payments and reviews in separate files, tied by ``order_id`` and ``customer_id``. Two of its
conventions decide how it is read:

- ``customer_id`` is a new id for every order; the person is ``customer_unique_id``, found in the
  customers table. Orders and reviews are joined to it, so a customer who ordered twice is one
  customer.
- An order's total is what the customer paid: the sum of its payments (items, freight, and the
  card instalment interest some orders carry), or, without the payments table, the sum of its
  items' price and freight. Its lines are the items, one unit each at the item's price.

The statuses: an order whose payment was approved is ``paid`` (``approved``, ``invoiced``,
``processing``, ``shipped``, ``delivered``); ``canceled`` and ``unavailable`` (Olist could not
supply it, and the money went back) are ``cancelled``; ``created`` (not yet paid) is
``pending``. Reviews become feedback (a 1–5 star review) keyed by ``review_id``, with their order;
their time is when the customer answered.

:func:`olist_role` recognises each table by its header; :func:`assemble` checks that the tables
refer to each other (every order's customer, every item's, payment's and review's order) and makes
the tables the import writes. Nothing here touches a database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from soloist.errors import ImportRefusedError
from soloist.imports.base import Record, RecordColumns, TableFormat
from soloist.imports.raw import FrameRows, RawTable, refuse
from soloist.imports.synonyms import header_key

# Role -> the header keys (see header_key) a table of that role has; the first match wins.
ROLES: dict[str, tuple[str, ...]] = {
    "customers": ("customerid", "customeruniqueid", "customercity"),
    "orders": ("orderid", "customerid", "orderstatus", "orderpurchasetimestamp"),
    "items": ("orderid", "orderitemid", "productid", "price", "freightvalue"),
    "payments": ("orderid", "paymentsequential", "paymentvalue"),
    "reviews": ("reviewid", "orderid", "reviewscore"),
    "categories": ("productcategoryname", "productcategorynameenglish"),
    "products": ("productid", "productcategoryname"),
    "sellers": ("sellerid", "sellerzipcodeprefix"),
    "geolocation": ("geolocationzipcodeprefix", "geolocationlat"),
}
# What an Olist order status means (see the module's text).
STATUSES: dict[str, str] = {
    "created": "pending",
    "approved": "paid",
    "invoiced": "paid",
    "processing": "paid",
    "shipped": "paid",
    "delivered": "paid",
    "canceled": "cancelled",
    "unavailable": "cancelled",
}
SOURCE = "olist"
MAX_LISTED = 20
WHOLE = "import the folder of the export: soloist import auto FOLDER"


def olist_role(table: RawTable) -> str | None:
    """Which table of the Olist export ``table`` is (``orders``, ``items`` …), or None."""
    keys = {header_key(column) for column in table.header}
    return next((role for role, needed in ROLES.items() if set(needed) <= keys), None)


class OlistCustomers(TableFormat):
    """The customers table alone: one customer per ``customer_unique_id``, in Brazil, with the
    city and state as the address."""

    name: ClassVar[str] = "olist-customers"
    label: ClassVar[str] = "Olist customers table"
    source: ClassVar[str] = SOURCE
    kinds: ClassVar[tuple[str, ...]] = ("customers",)
    columns: ClassVar[dict[str, str]] = {"customer_unique_id": "customer_id"}

    def detect(self, table: RawTable) -> bool:
        return olist_role(table) == "customers"

    def records(self, table: RawTable, kind: str, mapping: Mapping[str, int]) -> Iterator[Record]:
        cities = table.stripped(_index(table, "customer_city"))
        states = table.stripped(_index(table, "customer_state"))
        records = super().records(table, kind, mapping)
        for record, city, state in zip(records, cities, states, strict=True):
            record.values["address"] = ", ".join(part for part in (city, state) if part)
            record.values["country"] = "BR"
            yield record


class OlistPart(TableFormat):
    """A table of the export that means nothing alone (orders, items, payments, reviews …)."""

    name: ClassVar[str] = "olist"
    label: ClassVar[str] = "one table of an Olist export"
    source: ClassVar[str] = SOURCE
    kinds: ClassVar[tuple[str, ...]] = ()
    hint: ClassVar[str] = (
        f"{WHOLE} (Olist's customer_id is one per order: the customers table says who bought, "
        "and the amounts and reviews are in the other tables)"
    )

    def detect(self, table: RawTable) -> bool:
        return olist_role(table) not in (None, "customers")


class OlistOrders(TableFormat):
    """The orders joined by :func:`assemble`: one record per item (or per order without items),
    each carrying its order's customer, time, status and total."""

    name: ClassVar[str] = "olist-orders"
    label: ClassVar[str] = "Olist orders, items and payments"
    source: ClassVar[str] = SOURCE
    kinds: ClassVar[tuple[str, ...]] = ("orders",)
    default_currency: ClassVar[str | None] = "BRL"
    columns: ClassVar[dict[str, str]] = {
        "order_id": "order_id",
        "customer_unique_id": "customer_id",
        "order_status": "status",
        "order_purchase_timestamp": "ordered_at",
        "order_total": "total",
        "product_id": "sku",
        "product_category": "description",
        "price": "unit_price",
    }

    def detect(self, table: RawTable) -> bool:
        return False  # made by assemble(), never a file of its own

    def record_columns(
        self, table: RawTable, kind: str, mapping: Mapping[str, int]
    ) -> RecordColumns:
        """The records with Olist's statuses read as Soloist's (others are left to be refused,
        or mapped with --map-value)."""
        frame = RecordColumns.from_table(table, mapping).frame
        if "status" in frame.columns:
            word = pl.col("status").str.to_lowercase()
            frame = frame.with_columns(
                pl.when(word.is_in(list(STATUSES)))
                .then(word.replace_strict(STATUSES, default=None))
                .otherwise(pl.col("status"))
                .alias("status")
            )
        return RecordColumns(frame)


class OlistReviews(TableFormat):
    """The reviews joined by :func:`assemble` to their order's customer; in Portuguese."""

    name: ClassVar[str] = "olist-reviews"
    label: ClassVar[str] = "Olist reviews"
    source: ClassVar[str] = SOURCE
    kinds: ClassVar[tuple[str, ...]] = ("feedback",)
    columns: ClassVar[dict[str, str]] = {
        "review_id": "feedback_id",
        "order_id": "order_id",
        "customer_unique_id": "customer_id",
        "review_score": "rating",
        "review_comment_title": "title",
        "review_comment_message": "comment",
        "review_answer_timestamp": "responded_at",
    }

    def detect(self, table: RawTable) -> bool:
        return False

    def adjust(self, record: Record) -> None:
        record.values["language"] = "pt-BR"


@dataclass
class Part:
    """One import the export makes: ``kind`` from ``table`` read as ``fmt``, and the files it
    reads (the first is the one its row numbers are of)."""

    kind: str
    table: RawTable
    fmt: TableFormat
    files: list[str]


@dataclass
class Assembled:
    parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)  # file -> what it was used for


@dataclass
class _Problems:
    errors: list[dict[str, object]] = field(default_factory=list)

    def add(self, frame: pl.DataFrame, table: RawTable, column: str, message: pl.Expr) -> None:
        """One error per row of ``frame`` (which has ``_row``), in ``table``'s ``column``."""
        for row, text in frame.select("_row", message.alias("_m")).iter_rows():
            self.errors.append(
                {"file": table.path.name, "row": row, "column": column, "message": text}
            )

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        lines = ["The Olist export does not hold together; nothing was imported."]
        for error in self.errors[:MAX_LISTED]:
            lines.append(
                f"  {error['file']}, row {error['row']}, column {error['column']!r}: "
                f"{error['message']}"
            )
        if len(self.errors) > MAX_LISTED:
            lines.append(f"  … and {len(self.errors) - MAX_LISTED} more error(s).")
        raise ImportRefusedError(
            "\n".join(lines), errors=self.errors[:1000], invalid=len(self.errors)
        )


def _index(table: RawTable, name: str) -> int:
    key = header_key(name)
    for i, column in enumerate(table.header):
        if header_key(column) == key:
            return i
    raise refuse(
        table.path, "missing: an Olist table has it; is the file an Olist export?", column=name
    )


def _text(table: RawTable, name: str) -> pl.Series:
    return table.stripped_series(_index(table, name)).alias(name)


def _frame(table: RawTable, *names: str) -> pl.DataFrame:
    rows = pl.Series("_row", list(table.row_numbers), dtype=pl.Int64)
    return pl.DataFrame([rows, *(_text(table, name) for name in names)])


_DECIMAL = r"^-?\d+(\.\d{1,2})?$"


def _cents(frame: pl.DataFrame, table: RawTable, name: str, problems: _Problems) -> pl.Expr:
    """Column ``name`` (an amount such as ``98.94``) in cents; a cell that is not one is an
    error. Exact: two decimals at most, read through a float only to be rounded back."""
    bad = frame.filter(~pl.col(name).str.contains(_DECIMAL))
    problems.add(bad, table, name, pl.format("not an amount: '{}'", pl.col(name)))
    return (
        pl.when(pl.col(name).str.contains(_DECIMAL))
        .then((pl.col(name).cast(pl.Float64, strict=False) * 100).round(0).cast(pl.Int64))
        .otherwise(None)
    )


def _decimal(cents: pl.Expr) -> pl.Expr:
    """Cents as decimal text, exactly: 9894 → ``98.94``, -5 → ``-0.05``."""
    whole = cents.abs()
    return pl.concat_str(
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (whole // 100).cast(pl.String),
        pl.lit("."),
        (whole % 100).cast(pl.String).str.zfill(2),
    )


def _known_orders(
    frame: pl.DataFrame, table: RawTable, orders: pl.DataFrame, orders_file: str, p: _Problems
) -> pl.DataFrame:
    """The rows of ``frame`` whose ``order_id`` is in the orders table (the others: errors)."""
    unknown = frame.join(orders.select("order_id"), on="order_id", how="anti")
    p.add(unknown, table, "order_id", pl.format("order {} is not in " + orders_file, "order_id"))
    return frame.join(orders.select("order_id"), on="order_id", how="semi", maintain_order="left")


def _frame_table(
    like: RawTable, frame: pl.DataFrame, rows: pl.Series, sources: list[RawTable]
) -> RawTable:
    """A table of text cells made from ``frame``, numbered as rows of ``like``."""
    cells = frame.select(pl.all().cast(pl.String).fill_null(""))
    digest = hashlib.sha256("".join(t.sha256 for t in sources).encode()).hexdigest()
    return RawTable(
        path=like.path,
        header=list(cells.columns),
        rows=FrameRows(cells),
        row_numbers=rows.to_list(),
        container=like.container,
        encoding=like.encoding,
        delimiter=like.delimiter,
        sha256=digest,
        frame=cells,
    )


def _need(tables: Mapping[str, RawTable], role: str, *needed: str) -> None:
    missing = [n for n in needed if n not in tables]
    if missing:
        names = ", ".join(f"the {n} table" for n in missing)
        raise ImportRefusedError(
            f"{tables[role].path.name}: Olist's {role} need {names} of the same export "
            f"(olist_{missing[0]}_dataset.csv); {WHOLE}",
            errors=[{"row": None, "column": None, "message": f"missing {names}"}],
        )


def _descriptions(tables: Mapping[str, RawTable]) -> pl.DataFrame | None:
    """product_id -> its category (in English when the translation table is there)."""
    if "products" not in tables:
        return None
    products = _frame(tables["products"], "product_id", "product_category_name").drop("_row")
    if "categories" in tables:
        english = _frame(
            tables["categories"], "product_category_name", "product_category_name_english"
        ).drop("_row")
        products = products.join(
            english.unique("product_category_name", keep="first"),
            on="product_category_name",
            how="left",
            maintain_order="left",
        ).select(
            "product_id",
            pl.coalesce(
                pl.col("product_category_name_english").replace("", None),
                pl.col("product_category_name").replace("", None),
            ).alias("product_category"),
        )
    else:
        products = products.select(
            "product_id",
            pl.col("product_category_name").replace("", None).alias("product_category"),
        )
    return products.unique("product_id", keep="first")


def _orders(tables: Mapping[str, RawTable], customers: pl.DataFrame, p: _Problems) -> Part:
    table = tables["orders"]
    orders = _frame(
        table, "order_id", "customer_id", "order_status", "order_purchase_timestamp"
    ).with_row_index("_pos")
    repeated = orders.filter(~pl.col("order_id").is_first_distinct())
    p.add(repeated, table, "order_id", pl.format("order {} is in the file twice", "order_id"))
    orders = orders.join(customers, on="customer_id", how="left", maintain_order="left")
    unknown = orders.filter(pl.col("customer_unique_id").is_null())
    customers_file = tables["customers"].path.name
    p.add(
        unknown,
        table,
        "customer_id",
        pl.format("customer {} is not in " + customers_file, "customer_id"),
    )
    totals = orders.select("order_id")
    files, sources = [table.path.name], [table, tables["customers"]]
    items: pl.DataFrame | None = None
    if "items" in tables:
        itable = tables["items"]
        items = _frame(itable, "order_id", "order_item_id", "product_id", "price", "freight_value")
        items = _known_orders(items, itable, orders, table.path.name, p).with_columns(
            _cents(items, itable, "price", p).alias("_price"),
            _cents(items, itable, "freight_value", p).alias("_freight"),
            pl.col("order_item_id").cast(pl.Int64, strict=False).alias("_n"),
        )
        descriptions = _descriptions(tables)
        if descriptions is not None:
            items = items.join(descriptions, on="product_id", how="left", maintain_order="left")
            sources += [tables[r] for r in ("products", "categories") if r in tables]
        else:
            items = items.with_columns(pl.lit(None, pl.String).alias("product_category"))
        by_order = items.group_by("order_id").agg(
            (pl.col("_price") + pl.col("_freight")).sum().alias("_items_total")
        )
        totals = totals.join(by_order, on="order_id", how="left", maintain_order="left")
        files.append(itable.path.name)
        sources.append(itable)
    if "payments" in tables:
        ptable = tables["payments"]
        payments = _frame(ptable, "order_id", "payment_value")
        payments = _known_orders(payments, ptable, orders, table.path.name, p)
        paid_cents = _cents(payments, ptable, "payment_value", p)
        payments = payments.with_columns(paid_cents.alias("_paid"))
        paid = payments.group_by("order_id").agg(pl.col("_paid").sum().alias("_paid_total"))
        totals = totals.join(paid, on="order_id", how="left", maintain_order="left")
        files.append(ptable.path.name)
        sources.append(ptable)
    p.raise_if_any()
    candidates = [c for c in ("_paid_total", "_items_total") if c in totals.columns]
    totals = totals.select(
        "order_id", pl.coalesce(*candidates, pl.lit(0, pl.Int64)).alias("_total")
    ).unique("order_id", keep="first")
    joined = orders.join(totals, on="order_id", how="left", maintain_order="left")
    if items is not None:
        joined = joined.join(
            items.select(
                "order_id", "order_item_id", "product_id", "product_category", "price", "_n"
            ),
            on="order_id",
            how="left",
            maintain_order="left",
        ).sort("_pos", "_n", nulls_last=True, maintain_order=True)
    joined = joined.with_columns(_decimal(pl.col("_total")).alias("order_total"))
    keep = [
        c
        for c in (
            "order_id",
            "customer_unique_id",
            "order_status",
            "order_purchase_timestamp",
            "order_total",
            "order_item_id",
            "product_id",
            "product_category",
            "price",
        )
        if c in joined.columns
    ]
    made = _frame_table(table, joined.select(keep), joined["_row"], sources)
    return Part("orders", made, OlistOrders(), files)


def _reviews(tables: Mapping[str, RawTable], customers: pl.DataFrame, p: _Problems) -> Part:
    table = tables["reviews"]
    orders = _frame(tables["orders"], "order_id", "customer_id").drop("_row")
    orders = orders.unique("order_id", keep="first").join(customers, on="customer_id", how="left")
    reviews = _frame(
        table,
        "review_id",
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
        "review_answer_timestamp",
    )
    reviews = _known_orders(reviews, table, orders, tables["orders"].path.name, p)
    p.raise_if_any()
    buyers = orders.select("order_id", "customer_unique_id")
    joined = reviews.join(buyers, on="order_id", how="left", maintain_order="left").with_columns(
        pl.coalesce(
            pl.col("review_answer_timestamp").replace("", None),
            pl.col("review_creation_date").replace("", None),
        ).alias("review_answer_timestamp")
    )
    frame = joined.select(
        "review_id",
        "order_id",
        "customer_unique_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_answer_timestamp",
    )
    sources = [table, tables["orders"], tables["customers"]]
    made = _frame_table(table, frame, joined["_row"], sources)
    return Part("feedback", made, OlistReviews(), [table.path.name])


def assemble(tables: Mapping[str, RawTable]) -> Assembled:
    """The imports an Olist export makes, in the order they are written: its customers, its
    orders (with their items and payments) and its reviews. Refused
    (:class:`ImportRefusedError`, naming file, row and column) when a table needs one that is
    not there, or a row refers to something its table does not hold."""
    out = Assembled()
    for role in ("orders", "items", "payments"):
        if role in tables:
            _need(tables, role, "customers", *(() if role == "orders" else ("orders",)))
    if "reviews" in tables:
        _need(tables, "reviews", "customers", "orders")
    if "orders" in tables and not {"items", "payments"} & set(tables):
        _need(tables, "orders", "items")
    problems = _Problems()
    customers = pl.DataFrame(schema={"customer_id": pl.String, "customer_unique_id": pl.String})
    if "customers" in tables:
        ctable = tables["customers"]
        out.parts.append(Part("customers", ctable, OlistCustomers(), [ctable.path.name]))
        out.used[ctable.path.name] = "customers"
        customers = _frame(ctable, "customer_id", "customer_unique_id").drop("_row")
        customers = customers.unique("customer_id", keep="first")
    if "orders" in tables:
        part = _orders(tables, customers, problems)
        out.parts.append(part)
        for name, use in zip(part.files, ("orders", "order lines", "order totals"), strict=False):
            out.used[name] = use
        if "payments" in tables:
            out.used[tables["payments"].path.name] = "order totals"
    if "reviews" in tables:
        part = _reviews(tables, customers, problems)
        out.parts.append(part)
        out.used[tables["reviews"].path.name] = "feedback"
    for role in ("products", "categories"):
        if role in tables:
            used = "items" in tables
            out.used[tables[role].path.name] = "line descriptions" if used else "not used"
    for role in ("sellers", "geolocation"):
        if role in tables:
            out.used[tables[role].path.name] = "not used"
            out.notes.append(
                f"{tables[role].path.name}: Olist's {role} are not customer data; left out"
            )
    return out
