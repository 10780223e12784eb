"""Benchmark: segmenting and churn-scoring N customers (default 100,000).

Synthetic Pareto/NBD purchase histories over two years (as in the demo business). Measures
Soloist's pipeline — behaviour features, RFM segments, K-Means with k by silhouette and
stability, the churn model comparison with reasons — beside a plain pandas + scikit-learn
baseline doing the bare minimum (group-by RFM, ``pd.qcut`` scores, one K-Means with a fixed k,
one logistic regression without reasons or comparison).

Run: ``.venv/bin/python benchmarks/bench_segments.py [--customers 100000]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression

from soloist.analytics.churn import score_churn
from soloist.analytics.clustering import cluster_customers
from soloist.analytics.customer_features import transaction_features
from soloist.analytics.segmentation import rfm_scores

END = pd.Timestamp("2026-06-30")


def transactions(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    horizon = 730.0
    start = rng.beta(1.4, 1.0, n) * (horizon - 1)
    rate = rng.gamma(0.9, 1 / 55.0, n)
    death = start + rng.exponential(1.0, n) / rng.gamma(0.8, 1 / 320.0, n)
    span = np.clip(np.minimum(death, horizon) - start, 0, None)
    repeats = rng.poisson(rate * span)
    owner = np.repeat(np.arange(n), repeats)
    day = np.concatenate([start, start[owner] + rng.random(owner.size) * span[owner]])
    who = np.concatenate([np.arange(n), owner])
    return pd.DataFrame(
        {
            "customer_id": who,
            "date": END - pd.to_timedelta(horizon - day, unit="D"),
            "amount": np.round(rng.gamma(4.0, 10.0, who.size), 2),
        }
    )


def timed(label: str, fn: Callable[[], Any], results: dict[str, float]) -> Any:
    t0 = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - t0
    print(f"{label:<40} {results[label]:8.2f} s", flush=True)
    return value


def soloist(tx: pd.DataFrame) -> dict[str, float]:
    r: dict[str, float] = {}
    feats = timed("soloist: behaviour features", lambda: transaction_features(tx, END), r)
    table = feats.rename(columns={"orders": "frequency", "total_spent": "monetary"})
    timed("soloist: RFM segments", lambda: rfm_scores(table), r)
    cols = ["recency_days", "orders", "total_spent", "average_order_value", "tenure_days",
            "interpurchase_days"]  # fmt: skip
    clusters = timed(
        "soloist: K-Means k=2..8 + stability", lambda: cluster_customers(feats[cols]), r
    )
    print(f"  k={clusters.n_clusters} silhouette={clusters.silhouette:.3f} "
          f"stability={clusters.stability:.3f}")  # fmt: skip
    churn = timed("soloist: churn comparison + reasons", lambda: score_churn(tx, END), r)
    q = churn.comparison[churn.chosen]
    print(f"  chosen {churn.chosen}: holdout AUC {q['roc_auc']:.3f}; 1-P(alive) AUC "
          f"{churn.comparison['bg_nbd_p_alive']['roc_auc']:.3f}")  # fmt: skip
    return r


def baseline(tx: pd.DataFrame) -> dict[str, float]:
    r: dict[str, float] = {}

    def rfm() -> pd.DataFrame:
        g = tx.groupby("customer_id")
        frame = pd.DataFrame(
            {"recency": (END - g["date"].max()).dt.days, "frequency": g.size(),
             "monetary": g["amount"].sum()}
        )  # fmt: skip
        for col in frame.columns:
            frame[col + "_score"] = pd.qcut(frame[col].rank(method="first"), 5, labels=False)
        return frame

    frame = timed("baseline: pandas RFM + qcut", rfm, r)
    x = np.log1p(frame[["recency", "frequency", "monetary"]].to_numpy(dtype=float))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    timed("baseline: one K-Means (k=5)", lambda: KMeans(5, n_init=4, random_state=0).fit(x), r)
    cut = END - pd.Timedelta(days=90)
    before = tx[tx["date"] < cut]
    g = before.groupby("customer_id")
    X = np.log1p(np.column_stack([(cut - g["date"].max()).dt.days, g.size(), g["amount"].sum()]))
    y = ~g.size().index.isin(tx.loc[tx["date"] >= cut, "customer_id"].unique())
    timed("baseline: one logistic regression", lambda: LogisticRegression().fit(X, y), r)
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    tx = transactions(args.customers)
    print(f"{args.customers} customers, {len(tx)} transactions")
    ours, theirs = soloist(tx), baseline(tx)
    print(f"total soloist {sum(ours.values()):.1f} s, baseline {sum(theirs.values()):.1f} s")


if __name__ == "__main__":
    main()
