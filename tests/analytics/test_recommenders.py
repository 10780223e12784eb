"""Recommenders against known truth (simulated tastes) and on a real purchase log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.real_data import online_retail_lines

from soloist.analytics import AnalyticsError, ImplicitRecommender, NotFittedError, RatingRecommender


def taste_groups(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """300 customers in 3 taste groups, each buying from its own 20 of 60 items (and rarely
    elsewhere); one own-group purchase per customer held out."""
    rng = np.random.default_rng(seed)
    rows, held = [], []
    for customer in range(300):
        group = customer % 3
        own = rng.choice(np.arange(group * 20, group * 20 + 20), size=7, replace=False)
        stray = rng.choice(60, size=1)
        rows += [(customer, int(i)) for i in own[:-1]] + [(customer, int(stray[0]))]
        held.append((customer, int(own[-1])))
    frame = pd.DataFrame(rows, columns=["customer", "item"]).drop_duplicates()
    test = pd.DataFrame(held, columns=["customer", "item"])
    return frame, test[~test.set_index(["customer", "item"]).index.isin(
        frame.set_index(["customer", "item"]).index)]  # fmt: skip


def test_recommendations_follow_the_taste_groups() -> None:
    train, test = taste_groups()
    model = ImplicitRecommender().fit(train)
    recs = model.recommend(range(300), k=5)
    assert list(recs.columns) == ["customer", "item", "score", "rank"]
    assert (
        recs.groupby("customer")["rank"].apply(list) == pd.Series([[1, 2, 3, 4, 5]] * 300)
    ).all()
    same_group = (recs["item"] // 20) == (recs["customer"] % 3)
    assert same_group.mean() > 0.9
    seen = set(zip(train["customer"], train["item"], strict=True))
    assert not any((c, i) in seen for c, i in zip(recs["customer"], recs["item"], strict=True))
    hits = recs.merge(test, on=["customer", "item"])
    # Within a group tastes are uniform: knowing the group finds the held-out item among 5 of
    # its ~14 unbought items (5/14 ≈ 0.36); the best sellers find it about 5/54 of the time.
    assert len(hits) / len(test) > 0.3
    # the reason is a bought item of the same taste group
    reasons = model.because(0, recs[recs["customer"] == 0]["item"])
    bought = set(train[train["customer"] == 0]["item"])
    assert reasons
    assert all(r in bought and r // 20 == 0 for r in reasons.values())


def test_new_customers_get_the_best_sellers_and_seen_items_can_stay() -> None:
    train = pd.DataFrame({"customer": [1, 1, 2, 2, 3, 4], "item": ["a", "b", "a", "c", "a", "b"]})
    model = ImplicitRecommender(tune=False).fit(train)
    new = model.recommend(["stranger"], k=2)
    assert new["item"].tolist() == ["a", "b"]
    assert new["score"].iloc[0] > new["score"].iloc[1]
    again = model.recommend([1], k=3, exclude_seen=False)
    assert {"a", "b"} <= set(again["item"])


def test_bad_interactions_are_refused_by_name() -> None:
    with pytest.raises(AnalyticsError, match="item"):
        ImplicitRecommender().fit(pd.DataFrame({"customer": [1]}))
    with pytest.raises(AnalyticsError, match="weight"):
        ImplicitRecommender().fit(pd.DataFrame({"customer": [1], "item": [2], "weight": [-1]}))
    with pytest.raises(NotFittedError):
        ImplicitRecommender().recommend([1])


def test_ratings_recover_a_known_low_rank_truth() -> None:
    rng = np.random.default_rng(3)
    users, items, noise = 400, 300, 0.3
    truth = 3.0 + rng.normal(0, 0.4, (users, 1)) + rng.normal(0, 0.4, (1, items))
    truth = truth + rng.normal(0, 0.5, (users, 3)) @ rng.normal(0, 0.5, (3, items))
    cells = rng.random((users, items)) < 0.15
    u, i = np.nonzero(cells)
    ratings = pd.DataFrame(
        {"customer": u, "item": i, "rating": truth[u, i] + rng.normal(0, noise, u.size)}
    )
    held = rng.random(len(ratings)) < 0.2
    model = RatingRecommender().fit(ratings[~held])
    test = ratings[held]
    predicted = model.predict(test)
    rmse = float(np.sqrt(np.mean((predicted - truth[test["customer"], test["item"]]) ** 2)))
    baseline = float(
        np.sqrt(
            np.mean((ratings[~held]["rating"].mean() - truth[test["customer"], test["item"]]) ** 2)
        )
    )
    assert rmse < 0.5 * baseline
    assert rmse < 0.3  # close to the truth, not only to the noisy ratings
    assert model.params_["factors"] in (20, 50)
    unknown = model.predict(pd.DataFrame({"customer": [-5], "item": [0]}))
    assert unknown.shape == (1,)
    assert np.isfinite(unknown).all()


@pytest.mark.slow
def test_online_retail_last_month_beats_popularity_by_far() -> None:
    """The real log, the last month held out: new-to-the-customer items they then bought."""
    lines = online_retail_lines()
    cut = np.datetime64("2011-11-09")
    before, after = lines[lines["at"] < cut], lines[lines["at"] >= cut]
    bought = set(zip(before["customer"], before["item"], strict=True))
    after = after[after["customer"].isin(set(before["customer"]))]
    fresh = after[
        [(c, i) not in bought for c, i in zip(after["customer"], after["item"], strict=True)]
    ]
    truth = fresh.groupby("customer")["item"].apply(set)
    model = ImplicitRecommender().fit(before[["customer", "item"]])
    recs = model.recommend(truth.index, k=10)
    hits = [i in truth[c] for c, i in zip(recs["customer"], recs["item"], strict=True)]
    ours = np.sum(hits) / (10 * len(truth))
    counts = before.drop_duplicates(["customer", "item"])["item"].value_counts()
    popular_hits = 0
    owned = before.drop_duplicates(["customer", "item"]).groupby("customer")["item"].apply(set)
    for customer, items in truth.items():
        top = [i for i in counts.index if i not in owned[customer]][:10]
        popular_hits += len(set(top) & items)
    popularity = popular_hits / (10 * len(truth))
    assert ours >= 1.6 * popularity, (ours, popularity)
