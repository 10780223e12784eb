"""Score reasons: one type, one stored shape, and the shapes older versions stored still read."""

from __future__ import annotations

import pytest

from soloist.domain.scoring.reasons import Reason, read_reasons, stored_form, stored_reasons


def test_reasons_round_trip_through_the_stored_shape() -> None:
    reasons = {
        "churn": [Reason("recency_days", "last order 4 months ago", 0.12, 120.0, 30.0)],
        "segment": [Reason("rfm", "RFM 155")],
    }
    assert read_reasons(stored_reasons(reasons)) == reasons


def test_an_unknown_score_is_refused_when_storing() -> None:
    with pytest.raises(ValueError, match="p_alive"):
        stored_reasons({"p_alive": [Reason("p_alive", "alive")]})


def test_reasons_stored_by_earlier_versions_still_read_as_text() -> None:
    legacy = {
        "cluster": "loyal regulars",
        "segment": "RFM 555: last order 3 days ago",
        "subscription": {"risk": 0.4, "reasons": [{"feature": "renewals", "text": "3 renewals"}]},
        "churn": [{"feature": "orders", "value": 1.0, "typical": 2.0, "effect": 0.1, "text": "t"}],
    }
    read = read_reasons(legacy)
    assert list(read) == ["churn", "subscription", "segment", "cluster"]
    assert [r.text for r in read["subscription"]] == ["3 renewals"]
    assert read["cluster"] == [Reason("cluster", "loyal regulars")]
    assert read["churn"][0] == Reason("orders", "t", 0.1, 1.0, 2.0)


def test_non_finite_figures_are_dropped_not_stored_as_nan() -> None:
    reason = Reason.from_stored({"feature": "x", "text": "t", "value": float("nan")})
    assert reason.value is None
    assert "value" not in reason.to_stored()


@pytest.mark.parametrize(
    "data",
    [
        {"feature": "orders", "value": 1.0, "typical": 2.0, "effect": 0.1234, "text": "one order"},
        {"feature": "recency_days", "value": float("nan"), "typical": None, "effect": -0.5,
         "text": "bought lately"},
        {"feature": "tickets", "value": True, "typical": "3", "effect": None, "text": 7},
        {"text": "no feature, no figures"},
        {"feature": "p_alive", "value": float("inf"), "typical": 0.5, "effect": "x", "text": ""},
    ],
)  # fmt: skip
def test_the_stored_form_is_that_of_the_reason_read_back(data: dict[str, object]) -> None:
    expected = Reason.from_stored(data).to_stored()
    assert stored_form(data) == expected
    assert list(stored_form(data)) == list(expected)  # the same keys in the same order
