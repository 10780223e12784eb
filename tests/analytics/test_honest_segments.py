"""Segment names and cluster words the data support: the Olist sample (almost everyone bought
once) against CDNOW (half the customers came back)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.real_data import olist_transactions

from soloist.analytics.clustering import cluster_customers
from soloist.analytics.clustering_words import describe_clusters
from soloist.analytics.customer_features import transaction_features
from soloist.analytics.segmentation import rfm_caveats, rfm_scores, rfm_table

#: names that say a customer came back, or comes back often
REPEAT_NAMES = {"champions", "loyal", "potential loyalists", "can't lose"}
FEATURES = ["recency_days", "orders", "total_spent", "average_order_value", "tenure_days",
            "interpurchase_days"]  # fmt: skip


@pytest.fixture(scope="module")
def olist() -> pd.DataFrame:
    return olist_transactions()


def test_no_one_time_buyer_of_olist_is_called_a_champion_or_loyal(olist: pd.DataFrame) -> None:
    assert len(olist) == 3960
    assert olist["customer_id"].nunique() == 3958
    scored = rfm_scores(rfm_table(olist, "2018-08-29 23:59"))
    once = scored[scored["frequency"] == 1]
    assert len(once) == 3956
    assert set(once["segment"]).isdisjoint(REPEAT_NAMES)
    assert (once["f_score"] == 1).all()
    # the recent one-time buyers are new or promising (by R), the others by R and spend
    assert set(once.loc[once["r_score"] == 5, "segment"]) == {"new"}
    assert set(once.loc[once["r_score"] == 4, "segment"]) == {"promising"}
    assert set(once["segment"]) == {
        "new", "promising", "about to sleep", "need attention", "hibernating", "at risk", "lost"
    }  # fmt: skip
    # the two customers who came back are the only ones a repeat name may fit
    assert set(scored.loc[scored["frequency"] == 2, "f_score"]) == {5}


def test_olist_segments_come_with_a_plain_warning(olist: pd.DataFrame) -> None:
    caveats = rfm_caveats(rfm_scores(rfm_table(olist, "2018-08-29 23:59")))
    assert [c["code"] for c in caveats] == ["one_time_buyers"]
    assert caveats[0]["share"] == pytest.approx(3956 / 3958, abs=1e-4)
    # 99.95 % is rounded down: "100%" would deny the two who came back
    assert caveats[0]["text"].startswith("99% of the customers bought only once: ")
    assert "no one-time buyer is called a champion" in caveats[0]["text"]


def test_cdnow_segments_need_no_warning_and_keep_their_champions(
    cdnow_master: pd.DataFrame,
) -> None:
    table = rfm_table(cdnow_master, "1998-06-30", customer_col="customer_id",
                      amount_col="dollar_value")  # fmt: skip
    scored = rfm_scores(table)
    assert rfm_caveats(scored) == []
    counts = scored["segment"].value_counts()
    assert counts["champions"] > 4000
    assert (scored.loc[scored["segment"].isin(REPEAT_NAMES), "frequency"] >= 2).all()


def test_olist_clusters_say_bought_once_only_of_one_time_buyers(olist: pd.DataFrame) -> None:
    features = transaction_features(olist, "2018-08-30").loc[:, FEATURES]
    result = cluster_customers(features, "kmeans", random_state=0)
    for cluster in result.to_dict()["clusters"]:
        members = result.labels[result.labels == cluster["cluster"]].index
        once = float((features.loc[members, "orders"] == 1).mean())
        assert cluster["one_time_share"] == pytest.approx(once, abs=1e-4)
        if "bought once" in cluster["description"].split(", "):
            assert once == 1.0


def test_cdnow_cluster_words_follow_the_members_not_the_median(
    cdnow_master: pd.DataFrame,
) -> None:
    """K-Means on CDNOW puts most one-time buyers together: that cluster is 'mostly one-time
    buyers' with its share, not 'bought once' (a tenth of it came back)."""
    features = transaction_features(cdnow_master, "1998-07-01", customer_col="customer_id",
                                    amount_col="dollar_value").loc[:, FEATURES]  # fmt: skip
    result = cluster_customers(features, "kmeans", random_state=0)
    clusters = result.to_dict()["clusters"]
    print("\nCDNOW clusters:", [(c["customers"], c["description"]) for c in clusters])
    mostly = [c for c in clusters if "mostly one-time buyers" in c["description"]]
    assert mostly
    for cluster in mostly:
        share = cluster["one_time_share"]
        assert 0.5 <= share < 1.0
        assert (
            f"mostly one-time buyers ({int(np.floor(100 * share + 1e-9))}%)"
            in (cluster["description"])
        )
    assert all("bought once" not in c["description"] for c in clusters)


def test_a_cluster_where_half_bought_again_is_not_called_one_time_buyers() -> None:
    """The median member bought once, but 45 % came back monthly: the words say how many."""
    once = pd.DataFrame(
        {"orders": [1.0] * 55, "interpurchase_days": [200.0] * 55, "total_spent": [30.0] * 55}
    )
    again = pd.DataFrame(
        {"orders": [4.0] * 45, "interpurchase_days": [30.0] * 45, "total_spent": [120.0] * 45}
    )
    other = pd.DataFrame(
        {"orders": [6.0] * 100, "interpurchase_days": [8.0] * 100, "total_spent": [90.0] * 100}
    )
    features = pd.concat([once, again, other], ignore_index=True)
    labels = pd.Series([0] * 100 + [1] * 100, index=features.index)
    profiles, words = describe_clusters(features, labels)
    assert words[0].split(", ")[1] == "mostly one-time buyers (55%)"
    assert profiles.loc[0, "one_time_share"] == pytest.approx(0.55)
    assert words[1].split(", ")[1] == "buy weekly"
    # 35 of 80 bought once, the others monthly: the rhythm of those who came back, and a share
    labels = pd.Series([0] * 20 + [1] * 80 + [2] * 100, index=features.index)
    _, words = describe_clusters(features, labels)
    assert "buy monthly" in words[1].split(", ")
    assert "43% bought only once" in words[1].split(", ")
