"""The real data sets of tests/data as the analyses read them (see each folder's README).

* UCI Online Retail (13 monthly files): one row per invoice of a known customer, cancellations
  (``C`` invoices) and non-positive totals left out;
* the Olist sample: one row per order that was not cancelled or unavailable, its items' prices
  summed, the customer being ``customer_unique_id`` (Olist's ``customer_id`` is per order);
* IBM Telco: the customer table, and the same customers as subscriptions dated back from a
  reference day (``started_at`` = tenure months before it; a churner cancelled within the last
  month, as the data set defines churn), with the other columns as the customers' own fields.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"
TELCO = DATA / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
#: the day the Telco snapshot is placed at
TELCO_DAY = dt.date(2024, 6, 30)
#: the Telco columns that become the subscription itself (the rest are customer fields)
TELCO_SUBSCRIPTION = ("customerID", "tenure", "Contract", "MonthlyCharges", "TotalCharges")


def online_retail_transactions() -> pd.DataFrame:
    """``customer_id`` (text), ``date``, ``amount`` (GBP) per invoice: 18,532 of 4,338."""
    parts = sorted((DATA / "online-retail").glob("online_retail_*.csv.gz"))
    raw = pd.concat(
        pd.read_csv(p, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}) for p in parts
    )
    raw = raw.dropna(subset=["CustomerID"])
    raw = raw[~raw["InvoiceNo"].str.startswith("C")]
    raw = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"])
    invoices = raw.groupby("InvoiceNo").agg(
        customer_id=("CustomerID", "first"), date=("InvoiceDate", "min"), amount=("amount", "sum")
    )
    invoices = invoices[invoices["amount"] > 0].reset_index(drop=True)
    invoices["date"] = pd.to_datetime(invoices["date"])
    return invoices


def olist_transactions() -> pd.DataFrame:
    """``customer_id`` (Olist's customer_unique_id), ``date``, ``amount`` (BRL) per order."""
    folder = DATA / "olist"
    orders = pd.read_csv(folder / "olist_orders_dataset.csv")
    items = pd.read_csv(folder / "olist_order_items_dataset.csv")
    customers = pd.read_csv(folder / "olist_customers_dataset.csv")
    orders = orders[~orders["order_status"].isin(["canceled", "unavailable"])]
    amounts = items.groupby("order_id")["price"].sum().rename("amount")
    joined = orders.merge(amounts, on="order_id").merge(
        customers[["customer_id", "customer_unique_id"]], on="customer_id"
    )
    return pd.DataFrame(
        {
            "customer_id": joined["customer_unique_id"].to_numpy(),
            "date": pd.to_datetime(joined["order_purchase_timestamp"]).to_numpy(),
            "amount": joined["amount"].to_numpy(dtype=np.float64),
        }
    )


def telco_frame() -> pd.DataFrame:
    """The Telco table as published, ``TotalCharges`` as a number (blank: 0)."""
    frame = pd.read_csv(TELCO)
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"].str.strip().replace("", "0"))
    return frame


def telco_subscriptions(
    frame: pd.DataFrame, churned: Any = None, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subscriptions (indexed 0…n−1, ``customer_id`` = the row number) and the customer fields.

    ``churned`` (booleans) replaces the Churn column, for the label-shuffling check. A churner
    cancelled on a day drawn uniformly from the 30 before :data:`TELCO_DAY`.
    """
    day = pd.Timestamp(TELCO_DAY)
    lost = (frame["Churn"] == "Yes").to_numpy() if churned is None else np.asarray(churned)
    rng = np.random.default_rng(seed)
    back = rng.integers(0, 30, len(frame))
    subscriptions = pd.DataFrame(
        {
            "customer_id": np.arange(len(frame)),
            "started_at": [day - pd.DateOffset(months=int(t)) for t in frame["tenure"]],
            "cancelled_at": [
                day - pd.Timedelta(days=int(b)) if c else pd.NaT
                for c, b in zip(lost, back, strict=True)
            ],
            "price": frame["MonthlyCharges"].to_numpy(dtype=np.float64),
            "billing_interval": "month",
            "plan": frame["Contract"].to_numpy(),
        }
    )
    fields = frame.drop(columns=list(TELCO_SUBSCRIPTION)).reset_index(drop=True)
    return subscriptions, fields


def online_retail_lines() -> pd.DataFrame:
    """``customer``, ``item`` (StockCode), ``at`` for each line of a known customer's invoice
    that is not a cancellation and has a positive quantity."""
    parts = sorted((DATA / "online-retail").glob("online_retail_*.csv.gz"))
    raw = pd.concat(
        pd.read_csv(p, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}) for p in parts
    )
    raw = raw.dropna(subset=["CustomerID"])
    raw = raw[~raw["InvoiceNo"].str.startswith("C") & (raw["Quantity"] > 0)]
    return pd.DataFrame(
        {
            "customer": raw["CustomerID"].to_numpy(),
            "item": raw["StockCode"].to_numpy(),
            "at": pd.to_datetime(raw["InvoiceDate"]).to_numpy(),
        }
    )


def labelled_sentences(name: str) -> tuple[list[str], list[int]]:
    """Texts and 0/1 labels of tests/data/sentiment: ``amazon`` (English) or ``waimai``."""
    folder = DATA / "sentiment"
    if name == "amazon":
        rows = [
            line.rstrip("\n").rsplit("\t", 1)
            for line in (folder / "amazon_cells_labelled.txt").read_text("utf-8").split("\n")
            if line.strip()
        ]
        return [text for text, _ in rows], [int(label) for _, label in rows]
    table = pd.read_csv(folder / "waimai_10k.csv")
    return table["review"].astype(str).tolist(), table["label"].astype(int).tolist()
