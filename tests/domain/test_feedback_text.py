"""The workspace's feedback analysis: scorer choice on its own reviews, keywords, months."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy.orm import Session
from tests.real_data import labelled_sentences

from soloist.domain.caches import clear_derived_caches
from soloist.domain.feedback import add_review, record_survey_response
from soloist.domain.feedback_text import (
    Scorer,
    analyze_feedback,
    distinctive_keywords,
    score_texts,
    workspace_scorer,
)
from soloist.storage.database import Database
from soloist.storage.models import ModelRun

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def test_distinctive_keywords_drop_what_everyone_says() -> None:
    unhappy = ["the coffee arrived late", "late again, cold coffee", "coffee late and cold"]
    happy = ["lovely coffee", "coffee was great", "great coffee, thanks", "coffee is fresh"] * 3
    words = dict(distinctive_keywords(unhappy, happy))
    assert "late" in words
    assert words["late"] == 3
    assert "coffee" not in words  # said in every text, happy or not


def test_analysis_by_month_with_the_rules(database: Database) -> None:
    with database.session() as session:
        for day, comment, score in [
            (2, "Delivery was late and the beans were stale.", 1),
            (3, "送货太慢了，包装也破了", 2),
            (4, "Lovely beans, fast delivery!", 5),
            (5, "Late delivery again, stale beans.", 2),
        ]:
            record_survey_response(
                session, "csat", score, "test", comment=comment,
                responded_at=dt.datetime(2026, 11, day, tzinfo=dt.UTC),
            )  # fmt: skip
        record_survey_response(
            session, "csat", 5, "test", comment="Great!",
            responded_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        )  # fmt: skip
    with database.read_session() as session:
        found = analyze_feedback(session, months=3, now=NOW)
        scores = score_texts(session, ["很好", None, "terrible"])
    assert found.method == "rules"
    assert found.texts == 5
    assert (found.negative, found.positive) == (3, 2)
    assert found.by_language == {"en": 4, "zh": 1}
    assert [m.month for m in found.months] == ["2026-09", "2026-10", "2026-11"]
    assert [m.texts for m in found.months] == [1, 0, 4]
    assert found.months[2].negative_share == 0.75
    assert found.most_negative[0].source == "survey"
    assert scores[0] > 0
    assert scores[1] is None
    assert scores[2] < 0


def test_a_trained_model_takes_over_when_it_beats_the_rules(database: Database) -> None:
    """300 rated Chinese reviews (waimai): the trained model is tried, and used only if its
    5-fold accuracy beats the rules' on the same reviews."""
    texts, labels = labelled_sentences("waimai")
    positives = [t for t, y in zip(texts, labels, strict=True) if y == 1][:150]
    negatives = [t for t, y in zip(texts, labels, strict=True) if y == 0][:150]
    with database.session() as session:
        for text in positives:
            add_review(session, 5, "test", body=text)
        for text in negatives:
            add_review(session, 1, "test", body=text)
    with database.read_session() as session:
        scorer = workspace_scorer(session)
    assert scorer.labelled == 300
    assert scorer.rules_accuracy is not None
    assert scorer.trained_accuracy is not None
    expected = "trained" if scorer.trained_accuracy > scorer.rules_accuracy else "rules"
    assert scorer.method == expected


def _rated_waimai(session: Session, each: int, skip: int = 0) -> None:
    texts, labels = labelled_sentences("waimai")
    positives = [t for t, y in zip(texts, labels, strict=True) if y == 1][skip : skip + each]
    negatives = [t for t, y in zip(texts, labels, strict=True) if y == 0][skip : skip + each]
    for text in positives:
        add_review(session, 5, "test", body=text)
    for text in negatives:
        add_review(session, 1, "test", body=text)


def _churn_run_recording(session: Session, scorer: Scorer) -> None:
    """A finished churn run that scored with ``scorer``, as score_churn_risk records it."""
    session.add(
        ModelRun(
            kind="churn",
            status="succeeded",
            finished_at=dt.datetime.now(dt.UTC),
            metrics={"sentiment": scorer.record()},
        )
    )


def _recorded_and_taken_again(
    database: Database, monkeypatch: pytest.MonkeyPatch, probe: list[str]
) -> tuple[Scorer, Scorer, list[int]]:
    """The scorer chosen (cross-validated) and recorded by a churn run, then the one a process
    starting afresh (caches cleared) takes, with the times it chose again meanwhile."""
    import soloist.analytics as analytics

    with database.read_session() as session:
        first = workspace_scorer(session)
    assert first.trained_accuracy is not None  # cross-validated on the labelled reviews
    with database.session() as session:
        _churn_run_recording(session, first)
    choices: list[int] = []
    real_choice = analytics.choose_sentiment
    monkeypatch.setattr(
        analytics, "choose_sentiment", lambda *a, **k: choices.append(1) or real_choice(*a, **k)
    )
    clear_derived_caches()
    with database.read_session() as session:
        again = workspace_scorer(session)
    assert np.allclose(again.score(probe), first.score(probe), atol=1e-12)
    return first, again, choices


def test_a_new_process_takes_the_trained_choice_a_churn_run_recorded_until_reviews_grow(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 rated waimai reviews, where the trained model wins: a process that starts afresh at
    the same count of reviews fits it again without cross-validating and scores exactly
    alike; 5 % more reviews and the choice is made again."""
    with database.session() as session:
        _rated_waimai(session, 300)
    probe = ["味道很好，送得也快", "太难吃了，再也不点了", "还行吧"]
    first, again, choices = _recorded_and_taken_again(database, monkeypatch, probe)
    assert first.method == "trained"
    assert again.record() == first.record()
    assert choices == []
    with database.session() as session:
        _rated_waimai(session, 15, skip=300)  # 630 reviews: a step of 5 % further
    clear_derived_caches()
    with database.read_session() as session:
        grown = workspace_scorer(session)
    assert choices == [1]
    assert grown.labelled == 630
    assert grown.reviews_version != first.reviews_version


def test_a_recorded_choice_of_the_rules_scores_with_the_rules_without_choosing_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 rated waimai reviews, where the rules win."""
    import soloist.analytics as analytics

    with database.session() as session:
        _rated_waimai(session, 150)
    probe = ["味道很好，送得也快", "太难吃了，再也不点了"]
    first, again, choices = _recorded_and_taken_again(database, monkeypatch, probe)
    assert first.method == "rules"
    assert again.record() == first.record()
    assert choices == []
    assert np.array_equal(again.score(probe), analytics.sentiment(probe))
