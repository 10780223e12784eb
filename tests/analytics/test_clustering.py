"""Clustering: textbook inputs give the obvious answer, and clusters are described in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soloist.analytics.clustering import cluster_customers, prepare_features
from soloist.analytics.clustering_words import rhythm_phrase
from soloist.analytics.errors import AnalyticsError

SIX = pd.DataFrame({"x": [1, 1, 1, 4, 4, 4], "y": [2, 4, 0, 2, 4, 0]})


@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_six_textbook_points_split_by_x(method: str) -> None:
    result = cluster_customers(SIX, method, n_clusters=2, log_columns=[])
    labels = result.labels.to_numpy()
    assert len(set(labels[:3])) == 1
    assert len(set(labels[3:])) == 1
    assert labels[0] != labels[3]


def test_kmeans_chooses_k_by_silhouette() -> None:
    result = cluster_customers(SIX, log_columns=[], k_range=(2, 4))
    assert result.n_clusters == 2
    assert max(result.silhouette_by_k, key=result.silhouette_by_k.__getitem__) == 2
    assert result.silhouette == pytest.approx(result.silhouette_by_k[2])


def _blobs(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centres = [(0, 0), (10, 0), (0, 10)]
    points = np.vstack([rng.normal(c, 1.0, (150, 2)) for c in centres])
    return pd.DataFrame(points, columns=["a", "b"])


@pytest.mark.parametrize("method", ["kmeans", "hierarchical", "hdbscan", "dbscan"])
def test_every_method_finds_three_separated_blobs_stably(method: str) -> None:
    result = cluster_customers(_blobs(), method, log_columns=[])
    assert result.n_clusters == 3
    assert result.silhouette is not None
    assert result.silhouette > 0.7
    assert result.stability is not None
    assert result.stability > 0.9


def test_clusters_are_described_in_plain_words() -> None:
    rng = np.random.default_rng(1)
    n = 200
    big = pd.DataFrame(
        {
            "total_spent": rng.normal(900, 50, n),
            "orders": rng.integers(10, 14, n).astype(float),
            "interpurchase_days": rng.normal(30, 3, n),
            "recency_days": rng.normal(17, 2, n),
            "share_Coffee beans": rng.uniform(0.8, 1.0, n),
        }
    )
    small = pd.DataFrame(
        {
            "total_spent": rng.normal(30, 5, n),
            "orders": np.ones(n),
            "interpurchase_days": rng.normal(300, 20, n),
            "recency_days": rng.normal(200, 20, n),
            "share_Coffee beans": rng.uniform(0.0, 0.2, n),
        }
    )
    result = cluster_customers(pd.concat([big, small], ignore_index=True), n_clusters=2)
    big_words = result.descriptions[int(result.labels.iloc[0])]
    small_words = result.descriptions[int(result.labels.iloc[-1])]
    assert result.labels.iloc[0] != result.labels.iloc[-1]
    assert "the median" in big_words
    assert "buy monthly" in big_words
    assert "mostly Coffee beans" in big_words
    assert "last seen 2 weeks ago" in big_words
    assert "bought once" in small_words
    assert "months ago" in small_words


def test_rhythm_phrases() -> None:
    assert rhythm_phrase(7) == "buy weekly"
    assert rhythm_phrase(30) == "buy monthly"
    assert rhythm_phrase(400) == "buy about once a year or less"


def test_prepare_features_logs_skewed_columns_and_standardises() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"spend": rng.lognormal(3, 1.5, 500), "flat": rng.normal(0, 1, 500)})
    matrix, used, logged = prepare_features(frame)
    assert logged == ["spend"]
    assert used == ["spend", "flat"]
    assert np.allclose(matrix.mean(axis=0), 0.0)
    assert np.allclose(matrix.std(axis=0), 1.0)


def test_clustering_refuses_unknown_methods_and_text_columns() -> None:
    with pytest.raises(AnalyticsError, match="method"):
        cluster_customers(SIX, "magic")
    with pytest.raises(AnalyticsError, match="numeric"):
        cluster_customers(SIX.assign(name="x"))
