"""Sentiment of feedback text: known cases, and accuracy on real labelled sentences."""

from __future__ import annotations

import numpy as np
import pytest
from tests.real_data import labelled_sentences

from soloist.analytics import AnalyticsError, choose_sentiment, sentiment, text_language
from soloist.analytics.text_sentiment import TrainedSentiment


def test_the_language_is_told_per_text() -> None:
    assert text_language("客服态度很好") == "zh"
    assert text_language("Great service, 谢谢") == "en"
    assert text_language("发货很快, fast") == "zh"  # half the letters are Chinese
    assert text_language("1234 !!") == "en"


@pytest.mark.parametrize(
    ("text", "positive"),
    [
        ("客服态度很好", True),  # SnowNLP calls this negative (0.16)
        ("客服回复很及时，非常满意", True),
        ("不好吃", False),
        ("一点也不新鲜", False),
        ("味道不错，但是送得太慢了", False),  # what follows "but" weighs more
        ("送得有点慢，不过味道很好", True),
        ("It stopped working after a week.", False),  # VADER alone: +0.0
        ("Works great, highly recommend!", True),
        ("Not good at all.", False),
    ],
)
def test_known_feedback(text: str, positive: bool) -> None:
    assert bool(sentiment([text])[0] > 0) is positive


def test_scores_are_bounded_and_empty_text_is_neutral() -> None:
    scores = sentiment(["", None, "太棒了！！！非常非常满意", "worst purchase ever, total junk"])
    assert scores[0] == scores[1] == 0.0
    assert np.all(np.abs(scores) <= 1.0)
    with pytest.raises(AnalyticsError, match="language"):
        sentiment(["x"], language="fr")


def test_english_rules_on_uci_amazon() -> None:
    texts, labels = labelled_sentences("amazon")
    accuracy = float(((sentiment(texts) > 0).astype(int) == np.array(labels)).mean())
    assert accuracy >= 0.85  # VADER alone: 0.845 (BENCHMARKS.md)


@pytest.mark.slow
def test_chinese_rules_and_the_trained_choice_on_waimai() -> None:
    texts, labels = labelled_sentences("waimai")
    rules = float(((sentiment(texts) > 0).astype(int) == np.array(labels)).mean())
    assert rules >= 0.772  # SnowNLP's accuracy on the same texts
    choice = choose_sentiment(texts, labels)
    assert choice.rules_accuracy == pytest.approx(rules)
    assert choice.method == "trained"
    assert choice.trained_accuracy is not None
    assert choice.trained_accuracy >= 0.89
    assert choice.model is not None
    assert choice.model.score(["很好吃，送得也快"])[0] > 0
    # Compared on a stratified sample of 3,000 of the texts: the same choice, accuracies within
    # two points of the whole set's, and the model still fitted on every text.
    sampled = choose_sentiment(texts, labels, compared_at_most=3000)
    assert (sampled.method, sampled.labelled) == ("trained", len(texts))
    assert sampled.rules_accuracy == pytest.approx(rules, abs=0.02)
    assert sampled.trained_accuracy == pytest.approx(choice.trained_accuracy, abs=0.02)
    assert (choice.learned_from, sampled.learned_from) == (len(texts), len(texts))
    # Learning from a stratified quarter of the texts still scores all of them as well as the
    # cross-validated accuracy of learning from everything (0.89).
    quarter = choose_sentiment(texts, labels, compared_at_most=3000, learned_from_at_most=3000)
    assert (quarter.method, quarter.learned_from, quarter.labelled) == (
        "trained",
        3000,
        len(texts),
    )
    assert quarter.model is not None
    scored = (quarter.model.score(texts) > 0).astype(int)
    assert float((scored == np.array(labels)).mean()) >= 0.89


def test_a_trained_model_scores_a_repeated_text_once_and_the_same() -> None:
    positive = ["great coffee", "fast and friendly", "lovely beans", "works well"] * 60
    negative = ["arrived broken", "too slow", "stale beans", "never again"] * 60
    model = TrainedSentiment().fit(positive + negative, [1] * 240 + [0] * 240)
    batch = ["stale beans", "great coffee", "stale beans", "a new text", "great coffee"]
    scores = model.score(batch)
    alone = np.array([model.score([text])[0] for text in batch])
    assert np.array_equal(scores, alone)
    assert scores[0] < 0 < scores[1]
    assert model.score([]).shape == (0,)


def test_too_few_labels_keep_the_rules() -> None:
    choice = choose_sentiment(["great", "awful"] * 20, [1, 0] * 20)
    assert choice.method == "rules"
    assert choice.trained_accuracy is None
    assert choice.labelled == 40
    with pytest.raises(AnalyticsError, match="labels"):
        choose_sentiment(["a", "b"], [1, 2])


def test_a_text_met_before_is_not_scored_again_and_scores_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from soloist.analytics import text_sentiment

    monkeypatch.setattr(text_sentiment, "SCORES_REMEMBERED", 6)
    scored: list[str] = []
    english = text_sentiment._english

    def counting(text: str) -> float:
        scored.append(text)
        return english(text)

    monkeypatch.setattr(text_sentiment, "_english", counting)
    texts = [f"Order {n} arrived broken, very disappointed" for n in range(4)]
    batch = [texts[0], "", texts[1], texts[0], "发货很快", texts[2], texts[1], None, texts[3]]
    first = sentiment(batch)
    assert sorted(scored) == sorted(texts)  # each distinct English text once
    again = sentiment(list(reversed(batch)))
    assert sorted(scored) == sorted(texts)  # all remembered: no text scored again
    assert again.tolist() == first[::-1].tolist()
    scored_alone = [text_sentiment._score_one(t, None) if t else 0.0 for t in batch]
    assert first.tolist() == scored_alone
    assert first[1] == first[7] == 0.0
    assert first[4] > 0 > first[0]
    # More new texts than are remembered: the memory is emptied, the answers stay right.
    scored.clear()
    others = [f"Parcel {n} was late again" for n in range(9)]
    assert sentiment(others).tolist() == [english(t) for t in others]
    assert sentiment([texts[0]])[0] == first[0]
    assert scored.count(texts[0]) == 1  # forgotten when the memory was emptied
