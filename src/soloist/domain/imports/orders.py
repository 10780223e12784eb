"""Writing an import's orders and lines: new ones in bulk, changed ones replaced, the same ones
left alone.

An order is the same order when its natural id (``external_id``) is; it has changed when any
of its customer, status, currency, total, discount, refunded amount, time or channel differ, or
any of its lines (by line number: SKU, description, quantity, unit price, amount). The
comparison is made on whole frames, so a second import of a million lines reads them back once
and compares them in one join.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.imports.activity import Counts
from soloist.domain.imports.customers import Resolved
from soloist.imports.clean import LINE_SCHEMA, ORDER_SCHEMA
from soloist.storage.bulk import among, bulk_insert, chunks
from soloist.storage.models import Order, OrderLine, Product
from soloist.vocabulary import WIDTHS, clipped

_HEADER = (
    "customer_id",
    "status",
    "currency",
    "total_minor",
    "discount_minor",
    "refunded_minor",
    "ordered_at",
    "channel",
)
_LINE_VALUES = ("sku", "description", "quantity", "unit_price_minor", "amount_minor")
_LINE_INSERT = ("order_id", "line_no", "product_id", *_LINE_VALUES)
_ORDER_INSERT = ("external_id", *_HEADER, "source", "import_batch_id")


def _customer_ids(orders: pl.DataFrame, customer_id: Any) -> pl.Series:
    """``customer_id(key)`` of each order's customer, worked out once per customer."""
    keys = orders["customer"].unique().to_list()
    ids = pl.DataFrame(
        {"customer": keys, "customer_id": [customer_id(key) for key in keys]},
        schema={"customer": pl.String, "customer_id": pl.Int64},
    )
    joined = orders.select("customer").join(ids, on="customer", how="left", maintain_order="left")
    return joined["customer_id"]


def _existing_orders(session: Session, external_ids: list[str]) -> pl.DataFrame:
    rows: list[tuple[Any, ...]] = []
    fields = [getattr(Order, name) for name in ("id", "external_id", *_HEADER)]
    for part in chunks(external_ids):
        found = session.execute(select(*fields).where(among(session, Order.external_id, part)))
        rows.extend(found.all())
    schema = pl.Schema(
        {
            "id": pl.Int64(),
            "external_id": pl.String(),
            "customer_id": pl.Int64(),
            **{name: ORDER_SCHEMA[name] for name in _HEADER if name != "customer_id"},
        }
    )
    return pl.DataFrame(rows, schema=schema, orient="row")


def _existing_lines(session: Session, order_ids: list[int]) -> pl.DataFrame:
    """The lines of the given orders, read through the driver's cursor: a second import of a
    million lines reads them all, and rows made by SQLAlchemy would cost more than the read."""
    schema = pl.Schema(
        {"order_id": pl.Int64(), **{n: t for n, t in LINE_SCHEMA.items() if n != "external_id"}}
    )
    connection = session.connection()
    select_lines = f"SELECT {', '.join(schema)} FROM order_lines WHERE order_id"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    parts: list[pl.DataFrame] = []
    try:
        for part in chunks(sorted(order_ids)):
            if connection.dialect.name == "postgresql":  # one array, not thousands of markers
                cursor.execute(f"{select_lines} = ANY(%s)", (list(part),))
            else:
                marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
                cursor.execute(f"{select_lines} IN ({', '.join([marker] * len(part))})", part)
            parts.append(pl.DataFrame(cursor.fetchall(), schema=schema, orient="row"))
    finally:
        cursor.close()
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _changed(
    session: Session, old: pl.DataFrame, lines: pl.DataFrame, existing: pl.DataFrame
) -> pl.DataFrame:
    """Of the orders already in the database (``old``, with ``id`` and ``customer_id``), those
    whose header or lines differ from what the database holds."""
    now = existing.select("id", *(pl.col(c).alias(f"{c}_now") for c in _HEADER))
    joined = old.join(now, on="id", how="left", maintain_order="left")
    header_differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_now")) for c in _HEADER)
    different = set(joined.filter(header_differs)["id"].to_list())
    wanted = lines.join(old.select("external_id", "id"), on="external_id", how="inner").select(
        pl.col("id").alias("order_id"), "line_no", *_LINE_VALUES
    )
    held = _existing_lines(session, old["id"].to_list())
    both = wanted.join(held, on=["order_id", "line_no"], how="full", suffix="_now", coalesce=False)
    line_differs = pl.any_horizontal(
        pl.col("order_id").is_null(),
        pl.col("order_id_now").is_null(),
        *(pl.col(c).ne_missing(pl.col(f"{c}_now")) for c in _LINE_VALUES),
    )
    mismatched = both.filter(line_differs).select(pl.coalesce("order_id", "order_id_now"))
    different.update(mismatched.to_series().to_list())
    return old.filter(pl.col("id").is_in(sorted(different)))


def _product_ids(session: Session, skus: list[str]) -> dict[str, int]:
    known: dict[str, int] = {}
    for part in chunks(skus):
        found = session.execute(
            select(Product.sku, Product.id).where(among(session, Product.sku, part))
        )
        known.update(found.all())
    return known


def _products(
    session: Session, orders: pl.DataFrame, lines: pl.DataFrame, actor: str, apply: bool
) -> tuple[pl.DataFrame, int]:
    """Product ids by SKU (``sku``, ``product_id``); SKUs not yet known become products, named
    by their first line's description and priced at its unit price (the first line with a
    price of zero or more, when there is one)."""
    candidates = (
        lines.filter(pl.col("sku").is_not_null())
        .join(orders.select("external_id", "currency"), on="external_id", how="left")
        .with_row_index("_n")
    )
    chosen = candidates.group_by("sku", maintain_order=True).agg(
        pl.coalesce(
            pl.col("_n").filter(pl.col("unit_price_minor") >= 0).first(), pl.col("_n").first()
        )
    )
    first = candidates.join(chosen, on=["sku", "_n"], how="semi", maintain_order="left")
    known = _product_ids(session, first["sku"].to_list())
    missing = first.filter(~pl.col("sku").is_in(list(known)))
    if apply and missing.height:
        rows = missing.select(
            "sku",
            pl.coalesce("description", "sku").str.head(WIDTHS["products.name"]).alias("name"),
            pl.max_horizontal("unit_price_minor", pl.lit(0)).alias("price_minor"),
            "currency",
        )
        bulk_insert(session, Product, rows.columns, rows)
        known.update(_product_ids(session, missing["sku"].to_list()))
        record_audit(
            session,
            actor,
            "products.bulk_added",
            "products",
            None,
            {"count": missing.height, "note": "import"},
        )
    ids_by_sku = pl.DataFrame(
        {"sku": list(known), "product_id": list(known.values())},
        schema={"sku": pl.String, "product_id": pl.Int64},
    )
    return ids_by_sku, missing.height


def _line_rows(
    lines: pl.DataFrame, order_ids: pl.DataFrame, products: pl.DataFrame
) -> pl.DataFrame:
    """Lines ready to insert: with their order's id (``order_ids``: external_id, order_id)
    and their product's."""
    return (
        lines.join(order_ids, on="external_id", how="inner", maintain_order="left")
        .join(products, on="sku", how="left", maintain_order="left")
        .select(_LINE_INSERT)
    )


def write_orders(
    session: Session,
    orders: pl.DataFrame,
    lines: pl.DataFrame,
    customers: Resolved,
    *,
    batch_id: int | None,
    source: str,
    actor: str,
    apply: bool,
) -> Counts:
    """Insert the new orders and their lines, replace the changed ones, count the rest."""
    counts = Counts()
    existing = _existing_orders(session, orders["external_id"].to_list())
    known = existing.select("external_id", "id")
    new = orders.join(known, on="external_id", how="anti", maintain_order="left")
    old = orders.join(known, on="external_id", how="inner", maintain_order="left")
    old = old.with_columns(_customer_ids(old, customers.existing_id).alias("customer_id"))
    changed = _changed(session, old, lines, existing)
    counts.imported, counts.updated = new.height, changed.height
    counts.unchanged = old.height - changed.height
    touched = pl.concat([new.select("external_id"), changed.select("external_id")])
    touched_lines = lines.join(touched, on="external_id", how="semi", maintain_order="left")
    products, counts.extra["products_created"] = _products(
        session, orders, touched_lines, actor, apply
    )
    counts.extra["order_lines"] = touched_lines.height
    if not apply:
        return counts
    if new.height:
        before = session.scalar(select(func.max(Order.id))) or 0
        rows = new.with_columns(
            _customer_ids(new, customers.id_of).alias("customer_id"),
            pl.lit(clipped(source, "orders.source")).alias("source"),
            pl.lit(batch_id, pl.Int64).alias("import_batch_id"),
        )
        bulk_insert(session, Order, _ORDER_INSERT, rows.select(_ORDER_INSERT))
        order_ids = pl.DataFrame(
            session.execute(select(Order.external_id, Order.id).where(Order.id > before)).all(),
            schema={"external_id": pl.String, "order_id": pl.Int64},
            orient="row",
        )
        new_lines = _line_rows(touched_lines, order_ids, products)
        bulk_insert(session, OrderLine, _LINE_INSERT, new_lines)
        record_audit(
            session,
            actor,
            "orders.bulk_added",
            "orders",
            None,
            {"count": new.height, "lines": new_lines.height, "note": f"import from {source}"},
        )
    _replace_changed(session, changed, touched_lines, products, customers, actor)
    return counts


def _replace_changed(
    session: Session,
    changed: pl.DataFrame,
    lines: pl.DataFrame,
    products: pl.DataFrame,
    customers: Resolved,
    actor: str,
) -> None:
    """Bring each changed order up to date and give it the file's lines; each one audited."""
    if not changed.height:
        return
    order_ids = changed.select("external_id", pl.col("id").alias("order_id"))
    rows_by_order = _line_rows(lines, order_ids, products).partition_by(
        "order_id", as_dict=True, maintain_order=True
    )
    for order in changed.iter_rows(named=True):
        order_id = order["id"]
        session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                customer_id=customers.id_of(order["customer"]),
                **{name: order[name] for name in _HEADER if name != "customer_id"},
            )
        )
        session.execute(delete(OrderLine).where(OrderLine.order_id == order_id))
        new_lines = rows_by_order.get((order_id,))
        if new_lines is not None:
            session.execute(insert(OrderLine), new_lines.to_dicts())
        record_audit(
            session,
            actor,
            "order.updated_by_import",
            "order",
            order_id,
            {
                "external_id": order["external_id"],
                "status": order["status"],
                "total_minor": order["total_minor"],
            },
        )
