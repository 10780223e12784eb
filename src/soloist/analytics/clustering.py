"""Clusters of customers by behaviour, each described in words a person understands.

Pipeline: missing values → column median; skewed non-negative columns (skewness > 1: spend,
counts, days) → ``log1p``; constant columns dropped; each column standardised (z-scores). Then one
of

* ``kmeans`` — K-Means (Lloyd, k-means++ starts); k chosen from ``k_range`` by the mean
  silhouette coefficient (Rousseeuw 1987) on a random sample of at most ``sample_size`` rows,
  then the chosen k fitted on everyone;
* ``hierarchical`` — Ward agglomerative clustering, k chosen by silhouette the same way;
* ``hdbscan`` — HDBSCAN (Campello, Moulavi & Sander 2013; ``sklearn.cluster.HDBSCAN``), which
  finds the number of clusters itself and leaves outliers unassigned (label -1);
* ``dbscan`` — DBSCAN (Ester et al. 1996) with ``eps`` from the 90th percentile of the distance
  to the ``min_samples``-th neighbour when not given.

The O(n²) methods (hierarchical, HDBSCAN, DBSCAN) are fitted on a random sample of at most
``sample_size`` customers and the others take the label of their nearest sampled neighbour.
Stability is the mean adjusted Rand index (Hubert & Arabie 1985) between the clustering and
refits on random 80 % subsamples with other seeds: 1 = the same partition every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from .churn_models import one_thread
from .clustering_words import describe_clusters
from .errors import AnalyticsError

__all__ = ["METHODS", "ClusteringResult", "cluster_customers", "prepare_features"]

METHODS = ("kmeans", "hierarchical", "hdbscan", "dbscan")
FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass
class ClusteringResult:
    """What :func:`cluster_customers` found."""

    method: str
    labels: pd.Series
    n_clusters: int
    silhouette: float | None
    silhouette_by_k: dict[int, float]
    stability: float | None
    profiles: pd.DataFrame
    descriptions: dict[int, str]
    transformed_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-customer labels)."""
        sizes = self.labels.value_counts().sort_index()
        return {
            "method": self.method,
            "n_clusters": self.n_clusters,
            "silhouette": self.silhouette,
            "silhouette_by_k": {str(k): v for k, v in self.silhouette_by_k.items()},
            "stability_ari": self.stability,
            "log_transformed": self.transformed_columns,
            "clusters": [
                {
                    "cluster": int(c),
                    "customers": int(sizes.get(c, 0)),
                    "description": self.descriptions.get(int(c), ""),
                    "one_time_share": self._one_time_share(int(c)),
                }
                for c in sizes.index
            ],
        }

    def _one_time_share(self, cluster: int) -> float | None:
        """Share of the cluster's members who bought once (None without an orders column)."""
        if "one_time_share" not in self.profiles.columns or cluster not in self.profiles.index:
            return None
        value = float(self.profiles.loc[cluster, "one_time_share"])
        return round(value, 4) if np.isfinite(value) else None


def prepare_features(
    features: pd.DataFrame, log_columns: list[str] | None = None
) -> tuple[FloatMatrix, list[str], list[str]]:
    """Impute, log-transform and standardise; returns ``(matrix, columns used, logged columns)``."""
    if not isinstance(features, pd.DataFrame) or features.empty:
        raise AnalyticsError("features must be a non-empty pandas DataFrame")
    numeric = features.select_dtypes(include=[np.number, "bool"]).astype(np.float64)
    dropped = [c for c in features.columns if c not in numeric.columns]
    if dropped:
        raise AnalyticsError(f"features must be numeric; these are not: {dropped}")
    numeric = numeric.replace([np.inf, -np.inf], np.nan)
    numeric = numeric.loc[:, numeric.notna().any()]
    numeric = numeric.fillna(numeric.median())
    if log_columns is None:
        skew = numeric.skew().fillna(0.0)
        log_columns = [c for c in numeric.columns if numeric[c].min() >= 0 and skew[c] > 1.0]
    for col in log_columns:
        if col not in numeric.columns:
            raise AnalyticsError(f"log column {col!r} is not among the features")
        if numeric[col].min() < 0:
            raise AnalyticsError(f"log column {col!r} has negative values")
        numeric[col] = np.log1p(numeric[col])
    std = numeric.std(ddof=0)
    keep = [c for c in numeric.columns if std[c] > 1e-12]
    if not keep:
        raise AnalyticsError("every feature is constant: there is nothing to cluster on")
    matrix = ((numeric[keep] - numeric[keep].mean()) / std[keep]).to_numpy(dtype=np.float64)
    return np.ascontiguousarray(matrix), keep, list(log_columns)


def _silhouette(x: FloatMatrix, labels: IntArray, sample: int, seed: int) -> float | None:
    mask = labels >= 0
    found = np.unique(labels[mask])
    if found.size < 2 or found.size >= mask.sum():
        return None
    size = min(int(mask.sum()), sample)
    return float(silhouette_score(x[mask], labels[mask], sample_size=size, random_state=seed))


def _fit_labels(
    x: FloatMatrix, method: str, k: int | None, seed: int, options: dict[str, Any]
) -> IntArray:
    """Labels of one fit of ``method`` on the rows ``x`` (k ignored by density methods)."""
    if method == "kmeans":
        model = KMeans(n_clusters=k, n_init=4, random_state=seed)
        return np.asarray(model.fit_predict(x), dtype=np.int64)
    if method == "hierarchical":
        return np.asarray(
            AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x), dtype=np.int64
        )
    if method == "hdbscan":
        size = int(options.get("min_cluster_size") or max(5, x.shape[0] // 50))
        # a small sample (a few customers, or a stability subsample) caps both sizes
        size = max(2, min(size, x.shape[0] - 1))
        model_h = HDBSCAN(min_cluster_size=size, min_samples=size, copy=True)
        return np.asarray(model_h.fit_predict(x), dtype=np.int64)
    min_samples = int(options.get("min_samples") or max(5, 2 * x.shape[1]))
    eps = options.get("eps")
    if eps is None:
        neighbours = NearestNeighbors(n_neighbors=min(min_samples, x.shape[0])).fit(x)
        distances, _ = neighbours.kneighbors(x)
        eps = float(np.quantile(distances[:, -1], 0.9)) or 1e-6
        options["eps"] = eps
    return np.asarray(DBSCAN(eps=eps, min_samples=min_samples).fit_predict(x), dtype=np.int64)


def _propagate(x: FloatMatrix, sample_idx: IntArray, sample_labels: IntArray) -> IntArray:
    """Labels for all rows: sampled rows keep theirs, the rest take their nearest sampled one."""
    labels = np.empty(x.shape[0], dtype=np.int64)
    labels[sample_idx] = sample_labels
    rest = np.setdiff1d(np.arange(x.shape[0]), sample_idx)
    if rest.size:
        nearest = NearestNeighbors(n_neighbors=1).fit(x[sample_idx])
        _, idx = nearest.kneighbors(x[rest])
        labels[rest] = sample_labels[idx[:, 0]]
    return labels


def _relabel_by_size(labels: IntArray) -> IntArray:
    """Number clusters 0, 1, … from the largest down (noise stays -1), so runs are comparable."""
    found, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = found[np.argsort(-counts, kind="stable")]
    mapping = {int(old): new for new, old in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)


@one_thread
def cluster_customers(
    features: pd.DataFrame,
    method: str = "kmeans",
    *,
    n_clusters: int | None = None,
    k_range: tuple[int, int] = (2, 8),
    log_columns: list[str] | None = None,
    random_state: int = 0,
    sample_size: int = 5000,
    stability_runs: int = 5,
    min_cluster_size: int | None = None,
    eps: float | None = None,
) -> ClusteringResult:
    """Cluster customers (rows of ``features``) and describe every cluster in words.

    Parameters
    ----------
    features : DataFrame
        One row per customer, numeric behaviour columns. Descriptions understand the names
        ``recency_days``, ``orders``/``frequency``, ``total_spent``/``monetary``,
        ``interpurchase_days``, ``tenure_days``, ``csat``, ``nps``, ``tickets`` and category
        shares named ``share_<category>``; other columns are described generically.
    method : {"kmeans", "hierarchical", "hdbscan", "dbscan"}
    n_clusters : int, optional
        Fixed k for kmeans/hierarchical; by default the k in ``k_range`` (inclusive) with the
        highest silhouette.

    Examples
    --------
    >>> pts = pd.DataFrame({"x": [1, 1, 1, 4, 4, 4], "y": [2, 4, 0, 2, 4, 0]})
    >>> cluster_customers(pts, n_clusters=2, log_columns=[]).labels.tolist()
    [0, 0, 0, 1, 1, 1]
    """
    if method not in METHODS:
        raise AnalyticsError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    x, used, logged = prepare_features(features, log_columns)
    n = x.shape[0]
    if n < 3:
        raise AnalyticsError(f"at least 3 customers are needed to form clusters, got {n}")
    rng = np.random.default_rng(random_state)
    options: dict[str, Any] = {"min_cluster_size": min_cluster_size, "eps": eps}
    sample_idx = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    fit_rows = x[sample_idx]  # k is chosen on a sample; K-Means is then refitted on everyone
    scores: dict[int, float] = {}
    k: int | None = None
    if method in ("kmeans", "hierarchical"):
        if n_clusters is not None:
            if not 2 <= n_clusters < n:
                raise AnalyticsError(f"n_clusters must be between 2 and {n - 1}, got {n_clusters}")
            candidates = [n_clusters]
        else:
            low, high = k_range
            candidates = list(range(max(2, low), min(high, fit_rows.shape[0] - 1) + 1))
            if not candidates:
                raise AnalyticsError(f"k_range {k_range} leaves no k to try for {n} customers")
        best: tuple[float, int, IntArray] | None = None
        for cand in candidates:
            labels_k = _fit_labels(fit_rows, method, cand, random_state, options)
            score = _silhouette(fit_rows, labels_k, sample_size, random_state)
            value = -1.0 if score is None else score
            scores[cand] = value
            if best is None or value > best[0]:
                best = (value, cand, labels_k)
        assert best is not None
        _, k, fitted = best
    else:
        fitted = _fit_labels(fit_rows, method, None, random_state, options)
    if method == "kmeans" and fit_rows.shape[0] < n:
        labels = _fit_labels(x, method, k, random_state, options)
    else:
        labels = _propagate(x, sample_idx, fitted)
    labels = _relabel_by_size(labels)
    silhouette = _silhouette(x, labels, sample_size, random_state)
    stability = _stability(x, labels, method, k, random_state, sample_size, stability_runs, options)
    label_series = pd.Series(labels, index=features.index, name="cluster")
    profiles, descriptions = describe_clusters(features, label_series)
    return ClusteringResult(
        method=method,
        labels=label_series,
        n_clusters=int(np.unique(labels[labels >= 0]).size),
        silhouette=silhouette,
        silhouette_by_k=scores,
        stability=stability,
        profiles=profiles,
        descriptions=descriptions,
        transformed_columns=[c for c in logged if c in used],
    )


def _stability(
    x: FloatMatrix,
    labels: IntArray,
    method: str,
    k: int | None,
    seed: int,
    sample_size: int,
    runs: int,
    options: dict[str, Any],
) -> float | None:
    """Mean adjusted Rand index between ``labels`` and refits on 80 % subsamples."""
    if runs <= 0:
        return None
    n = x.shape[0]
    aris = []
    for run in range(runs):
        rng = np.random.default_rng(seed + 1000 + run)
        size = max(3, int(0.8 * min(n, sample_size)))
        idx = np.sort(rng.choice(n, size=min(size, n), replace=False))
        refit = _fit_labels(x[idx], method, k, seed + 1 + run, dict(options))
        aris.append(adjusted_rand_score(labels[idx], refit))
    return float(np.mean(aris))
