"""Recommendations measured on public protocols, beside the libraries a user would pick.

- MovieLens 100k as implicit feedback, protocol A (ratings ≥ 4 are positives, an 80/20 random
  split of the interactions, seed 42) and protocol C (every rating an interaction, a per-user
  random 75/25 split): precision and NDCG at 10 over the users with test items, seen items
  excluded; P@10 = hits / 10 (not implicit's ``precision_at_k``, which divides by
  min(10, n_test)). Soloist's ``ImplicitRecommender`` (tuned on a validation split inside the
  training data), implicit's ALS tuned the same way (factors × regularisation × alpha on the
  same kind of split), implicit's BPR, and popularity.
- MovieLens 100k ratings, Surprise's own protocol (``KFold(n_splits=5, random_state=0)``,
  default parameters): RMSE of Soloist's ``RatingRecommender`` beside Surprise's SVD,
  KNNBaseline, SVD++ and BaselineOnly on the very same folds.
- Online Retail (UCI), a time split: the last month (from 2011-11-09) held out; the items a
  customer bought then and not before, for customers seen earlier.
- The time of one ``fit`` (with its tuning) on 1,000,000 order lines: the Online Retail lines,
  twice (the second copy's customers renamed), beside one implicit ALS fit.

    python benchmarks/bench_recommend.py [--data ../shared/data] [--skip-svdpp]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from soloist.analytics import ImplicitRecommender, RatingRecommender

K = 10


def ranking_quality(top: dict, test: pd.DataFrame) -> dict[str, float]:
    truth = test.groupby("customer")["item"].apply(set)
    precision, ndcg = [], []
    for customer, items in truth.items():
        ranked = top.get(customer, [])[:K]
        hits = [1.0 if item in items else 0.0 for item in ranked]
        precision.append(sum(hits) / K)
        dcg = sum(h / np.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1 / np.log2(i + 2) for i in range(min(K, len(items))))
        ndcg.append(dcg / ideal)
    return {"precision_at_10": float(np.mean(precision)), "ndcg_at_10": float(np.mean(ndcg))}


def ours(train: pd.DataFrame, customers: list) -> tuple[dict, dict, float]:
    started = time.perf_counter()
    model = ImplicitRecommender().fit(train)
    seconds = time.perf_counter() - started
    recs = model.recommend(customers, k=K)
    top = recs.groupby("customer")["item"].apply(list).to_dict()
    return top, {"params": model.params_, "validation": model.validation_}, seconds


class Indexed:
    def __init__(self, train: pd.DataFrame) -> None:
        self.users, self.user_ids = pd.factorize(train["customer"], sort=True)
        self.items, self.item_ids = pd.factorize(train["item"], sort=True)
        self.matrix = sp.csr_matrix(
            (np.ones(len(train), dtype=np.float32), (self.users, self.items)),
            shape=(len(self.user_ids), len(self.item_ids)),
        )
        self.matrix.data[:] = 1.0

    def top(self, scores: np.ndarray, rows: np.ndarray) -> dict:
        scores = scores.copy()
        scores[self.matrix[rows].nonzero()] = -np.inf
        best = np.argsort(-scores, axis=1)[:, :K]
        return {self.user_ids[r]: list(self.item_ids[best[j]]) for j, r in enumerate(rows)}


def implicit_model(kind: str, matrix: sp.csr_matrix, **params):  # type: ignore[no-untyped-def]
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    with threadpool_limits(1, "blas"):
        if kind == "als":
            model = AlternatingLeastSquares(random_state=0, iterations=15, **params)
        else:
            model = BayesianPersonalizedRanking(random_state=0, **params)
        model.fit(matrix, show_progress=False)
    return np.asarray(model.user_factors) @ np.asarray(model.item_factors).T


def tuned_als(train: pd.DataFrame) -> tuple[dict, float, dict]:
    """implicit ALS with factors, regularisation and alpha chosen on a 20 % validation split."""
    rng = np.random.default_rng(0)
    held = rng.random(len(train)) < 0.2
    fit_part, check = train[~held], train[held]
    index = Indexed(fit_part)
    rows = np.arange(len(index.user_ids))
    best: tuple[float, dict] | None = None
    for factors in (16, 32, 64, 128):
        for regularization in (0.1, 1.0, 10.0):
            for alpha in (1.0, 5.0, 20.0):
                params = {"factors": factors, "regularization": regularization, "alpha": alpha}
                scores = implicit_model("als", index.matrix, **params)
                quality = ranking_quality(index.top(scores, rows), check)["precision_at_10"]
                if best is None or quality > best[0]:
                    best = (quality, params)
    assert best is not None
    index = Indexed(train)
    started = time.perf_counter()
    scores = implicit_model("als", index.matrix, **best[1])
    seconds = time.perf_counter() - started
    return index.top(scores, np.arange(len(index.user_ids))), seconds, best[1]


def bpr(train: pd.DataFrame) -> dict:
    index = Indexed(train)
    scores = implicit_model("bpr", index.matrix, factors=64, learning_rate=0.01, iterations=100)
    return index.top(scores, np.arange(len(index.user_ids)))


def popularity(train: pd.DataFrame) -> dict:
    index = Indexed(train)
    counts = np.asarray(index.matrix.sum(axis=0)).ravel()
    rows = np.arange(len(index.user_ids))
    return index.top(np.tile(counts, (rows.size, 1)).astype(float), rows)


def compare(train: pd.DataFrame, test: pd.DataFrame, with_bpr: bool = True) -> dict:
    customers = sorted(test["customer"].unique())
    result: dict[str, dict] = {}
    top, info, seconds = ours(train, customers)
    result["soloist"] = {**ranking_quality(top, test), "fit_seconds": seconds, **info}
    top, seconds, params = tuned_als(train)
    result["implicit_als_tuned"] = {
        **ranking_quality(top, test),
        "fit_seconds": seconds,
        "params": params,
    }
    if with_bpr:
        result["implicit_bpr"] = ranking_quality(bpr(train), test)
    result["popularity"] = ranking_quality(popularity(train), test)
    result["soloist_over_popularity"] = (
        result["soloist"]["precision_at_10"] / result["popularity"]["precision_at_10"]
    )
    return result


def movielens(data: Path) -> pd.DataFrame:
    return pd.read_csv(
        data / "ml-100k" / "u.data", sep="\t", names=["customer", "item", "rating", "at"]
    )


def protocol_a(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    positives = ratings[ratings["rating"] >= 4].reset_index(drop=True)
    train = np.random.default_rng(42).random(len(positives)) < 0.8
    return positives[train], positives[~train]


def protocol_c(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = ratings.sample(frac=1.0, random_state=42)
    rank = shuffled.groupby("customer").cumcount()
    size = shuffled.groupby("customer")["customer"].transform("size")
    return shuffled[rank < 0.75 * size], shuffled[rank >= 0.75 * size]


def rmse_table(ratings: pd.DataFrame, with_svdpp: bool) -> dict:
    from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader, SVDpp, accuracy
    from surprise.model_selection import KFold

    data = Dataset.load_from_df(
        ratings[["customer", "item", "rating"]], Reader(rating_scale=(1, 5))
    )
    algorithms = {"svd": SVD, "knn_baseline": KNNBaseline, "baseline_only": BaselineOnly}
    if with_svdpp:
        algorithms["svdpp"] = SVDpp
    errors: dict[str, list[float]] = {name: [] for name in [*algorithms, "soloist"]}
    seconds: dict[str, float] = dict.fromkeys(errors, 0.0)
    for trainset, testset in KFold(n_splits=5, random_state=0).split(data):
        for name, algorithm in algorithms.items():
            started = time.perf_counter()
            kwargs = {"verbose": False} if name in ("knn_baseline", "baseline_only") else {}
            predictions = algorithm(**kwargs).fit(trainset).test(testset)
            seconds[name] += time.perf_counter() - started
            errors[name].append(accuracy.rmse(predictions, verbose=False))
        train = pd.DataFrame(
            [
                (trainset.to_raw_uid(u), trainset.to_raw_iid(i), r)
                for u, i, r in trainset.all_ratings()
            ],
            columns=["customer", "item", "rating"],
        )
        test = pd.DataFrame(testset, columns=["customer", "item", "rating"])
        started = time.perf_counter()
        predicted = RatingRecommender().fit(train).predict(test)
        seconds["soloist"] += time.perf_counter() - started
        errors["soloist"].append(float(np.sqrt(np.mean((predicted - test["rating"]) ** 2))))
    return {
        name: {"rmse": float(np.mean(values)), "seconds": seconds[name]}
        for name, values in errors.items()
    }


def online_retail(data: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((data / "online-retail").glob("online_retail_*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            frames.append(pd.read_csv(handle, dtype={"StockCode": str, "InvoiceNo": str}))
    lines = pd.concat(frames, ignore_index=True)
    lines = lines[
        lines["CustomerID"].notna()
        & (lines["Quantity"] > 0)
        & ~lines["InvoiceNo"].str.startswith("C")
    ]
    return pd.DataFrame(
        {
            "customer": lines["CustomerID"].astype(int),
            "item": lines["StockCode"],
            "at": pd.to_datetime(lines["InvoiceDate"]),
        }
    )


def retail_split(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = pd.Timestamp("2011-11-09")
    before, after = lines[lines["at"] < cut], lines[lines["at"] >= cut]
    known = set(before["customer"])
    bought = set(zip(before["customer"], before["item"], strict=True))
    after = after[after["customer"].isin(known)]
    fresh = [(c, i) not in bought for c, i in zip(after["customer"], after["item"], strict=True)]
    test = after[fresh].drop_duplicates(["customer", "item"])
    return before[["customer", "item"]], test[["customer", "item"]]


def million_lines(lines: pd.DataFrame) -> dict:
    twice = pd.concat(
        [lines, lines.assign(customer=lines["customer"] + 1_000_000)], ignore_index=True
    )
    extra = 1_000_000 - len(twice)
    if extra > 0:
        twice = pd.concat([twice, twice.iloc[:extra]], ignore_index=True)
    twice = twice.iloc[:1_000_000][["customer", "item"]]
    started = time.perf_counter()
    model = ImplicitRecommender().fit(twice)
    ours_seconds = time.perf_counter() - started
    index = Indexed(twice)
    started = time.perf_counter()
    implicit_model("als", index.matrix, factors=64, regularization=10.0, alpha=5.0)
    als_seconds = time.perf_counter() - started
    return {
        "lines": len(twice),
        "customers": int(twice["customer"].nunique()),
        "items": int(twice["item"].nunique()),
        "soloist_fit_with_tuning_seconds": ours_seconds,
        "implicit_als_one_fit_seconds": als_seconds,
        "soloist_params": model.params_,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--skip-svdpp", action="store_true")
    args = parser.parse_args()
    ratings = movielens(args.data)
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "date": time.strftime("%Y-%m-%d"),
    }
    results["protocol_a"] = compare(*protocol_a(ratings))
    print(json.dumps({"protocol_a": results["protocol_a"]}, default=str), file=sys.stderr)
    results["protocol_c"] = compare(*protocol_c(ratings))
    print(json.dumps({"protocol_c": results["protocol_c"]}, default=str), file=sys.stderr)
    results["rmse_5_fold"] = rmse_table(ratings, not args.skip_svdpp)
    print(json.dumps({"rmse": results["rmse_5_fold"]}, default=str), file=sys.stderr)
    lines = online_retail(args.data)
    results["online_retail_last_month"] = compare(*retail_split(lines), with_bpr=False)
    results["fit_1m_lines"] = million_lines(lines)
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
