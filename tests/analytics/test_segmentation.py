"""RFM scores and the named-segment grid, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from soloist.analytics.errors import AnalyticsError
from soloist.analytics.segmentation import (
    RFM_SEGMENTS,
    moved_customers,
    quintile_scores,
    rfm_scores,
    rfm_segment,
    rfm_table,
    segment_summary,
    segment_transitions,
)


def test_quintile_scores_of_five_distinct_values_are_one_to_five() -> None:
    assert quintile_scores([10, 50, 20, 40, 30]).tolist() == [1, 5, 2, 4, 3]
    assert quintile_scores([10, 50, 20, 40, 30], higher_is_better=False).tolist() == [5, 1, 4, 2, 3]


def test_quintile_scores_give_ties_one_score() -> None:
    scores = quintile_scores([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert scores.iloc[:6].nunique() == 1
    assert scores.iloc[0] == 2  # average percentile rank 0.35 -> second quintile
    assert scores.iloc[-1] == 5


@pytest.mark.parametrize(
    ("r", "fm", "segment"),
    [
        (5, 5, "champions"),
        (5, 4, "champions"),
        (4, 5, "loyal"),
        (3, 4, "loyal"),
        (5, 3, "potential loyalists"),
        (4, 2, "potential loyalists"),
        (5, 1, "new"),
        (4, 1, "promising"),
        (3, 3, "need attention"),
        (3, 1, "about to sleep"),
        (3, 2, "about to sleep"),
        (2, 3, "at risk"),
        (1, 4, "at risk"),
        (1, 5, "can't lose"),
        (2, 5, "can't lose"),
        (2, 1, "hibernating"),
        (2, 2, "hibernating"),
        (1, 1, "lost"),
        (1, 2, "lost"),
    ],
)
def test_rfm_grid_names_each_cell(r: int, fm: int, segment: str) -> None:
    assert rfm_segment(r, fm) == segment


def test_every_cell_of_the_grid_has_a_known_segment_and_every_segment_is_used() -> None:
    used = {rfm_segment(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert used == set(RFM_SEGMENTS)


def test_rfm_segment_refuses_scores_outside_one_to_five() -> None:
    with pytest.raises(AnalyticsError):
        rfm_segment(6, 1)


def test_rfm_table_counts_days_orders_and_spend() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": ["2024-01-01", "2024-01-01", "2024-03-01", "2024-02-15"],
            "amount": [10.0, 5.0, 20.0, 7.0],
        }
    )
    table = rfm_table(tx, "2024-03-31")
    assert table.loc["a"].tolist() == [30.0, 2.0, 35.0]
    assert table.loc["b"].tolist() == [45.0, 1.0, 7.0]


def test_rfm_scores_put_the_best_customer_in_champions_and_the_worst_in_lost() -> None:
    table = pd.DataFrame(
        {
            "recency_days": [1, 10, 50, 100, 300],
            "frequency": [20, 8, 4, 2, 1],
            "monetary": [2000, 800, 300, 100, 10],
        },
        index=["best", "good", "mid", "poor", "worst"],
    )
    scored = rfm_scores(table)
    assert scored.loc["best", "rfm_code"] == "555"
    assert scored.loc["best", "segment"] == "champions"
    assert scored.loc["worst", "segment"] == "lost"
    assert scored.loc["mid", "segment"] == "need attention"


def test_segment_summary_shares_add_up_and_list_empty_segments() -> None:
    frame = pd.DataFrame(
        {"segment": ["champions", "champions", "lost"], "monetary": [80.0, 10.0, 10.0],
         "clv": [100.0, 50.0, 1.0]}
    )  # fmt: skip
    summary = segment_summary(frame, clv_col="clv")
    assert summary.loc["champions", "customers"] == 2
    assert summary.loc["champions", "revenue_share"] == pytest.approx(0.9)
    assert summary.loc["champions", "average_clv"] == pytest.approx(75.0)
    assert summary.loc["loyal", "customers"] == 0
    assert summary["customer_share"].sum() == pytest.approx(1.0)


def test_transitions_count_moves_arrivals_and_departures() -> None:
    before = pd.Series({1: "champions", 2: "loyal", 3: "lost"})
    after = pd.Series({1: "at risk", 2: "loyal", 4: "new"})
    table = segment_transitions(before, after)
    assert table.loc["champions", "at risk"] == 1
    assert table.loc["loyal", "loyal"] == 1
    assert table.loc["lost", "(none)"] == 1
    assert table.loc["(none)", "new"] == 1
    assert table.to_numpy().sum() == 4
    assert moved_customers(before, after).index.tolist() == [1]
