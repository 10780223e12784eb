"""What customers' words say: sentiment of review and survey-comment text, and its keywords.

The scorer is chosen per workspace (:func:`soloist.analytics.choose_sentiment`): the rules (VADER
for English, Soloist's lexicon for Chinese) until the workspace has enough reviews with text
whose stars label them (4–5 positive, 1–2 negative, 3 left out), then the model trained on
them, but only if its 5-fold accuracy beats the rules' on the same reviews. The choice is kept
in memory until the reviews change.

Keywords: the words said most often in a set of texts (each counted once per text): English
words of three letters or more without the common ones, Chinese words as jieba segments them
(two characters or more, without the common ones).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.reports.voice import STOPWORDS, words_of
from soloist.storage.caches import VersionedCache
from soloist.storage.models import Review, SurveyResponse

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
_choices: VersionedCache[str, Any] = VersionedCache("sentiment choices", maxsize=4)
_ZH_STOP = frozenset(
    {
        "我们",
        "你们",
        "他们",
        "一个",
        "这个",
        "那个",
        "没有",
        "就是",
        "还是",
        "但是",
        "什么",
        "怎么",
        "可以",
        "因为",
        "所以",
        "已经",
        "而且",
        "自己",
        "这样",
        "那么",
        "这么",
        "还有",
        "的话",
        "时候",
        "一下",
        "一次",
        "东西",
        "感觉",
        "觉得",
        "真的",
        "非常",
        "比较",
        "有点",
    }
)


@dataclass(frozen=True)
class Scorer:
    """How this workspace's texts are scored, and how well each method did on its reviews."""

    method: str  # "rules" or "trained"
    rules_accuracy: float | None
    trained_accuracy: float | None
    labelled: int
    score: Callable[[Sequence[str]], np.ndarray]


def _labelled_reviews(session: Session) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for title, body, rating in session.execute(
        select(Review.title, Review.body, Review.rating).where(Review.rating != 3)
    ):
        text = " ".join(part for part in (title, body) if part).strip()
        if text:
            texts.append(text)
            labels.append(1 if rating >= 4 else 0)
    return texts, labels


def workspace_scorer(session: Session) -> Scorer:
    from soloist.analytics import choose_sentiment, sentiment

    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = tuple(session.execute(select(func.count(Review.id), func.max(Review.id))).one())

    def choose() -> Scorer:
        texts, labels = _labelled_reviews(session)
        if not texts:
            return Scorer("rules", None, None, 0, lambda batch: sentiment(batch))
        choice = choose_sentiment(texts, labels)
        model = choice.model
        if choice.method == "trained" and model is not None:
            return Scorer(
                "trained", choice.rules_accuracy, choice.trained_accuracy, choice.labelled,
                model.score,
            )  # fmt: skip
        return Scorer(
            "rules", choice.rules_accuracy, choice.trained_accuracy, choice.labelled,
            lambda batch: sentiment(batch),
        )  # fmt: skip

    return _choices.get_or_compute(url, version, choose)


def score_texts(session: Session, texts: Sequence[str | None]) -> list[float | None]:
    """Each text's sentiment in [−1, 1] by the workspace's scorer; None where there is no text."""
    present = [i for i, text in enumerate(texts) if text and text.strip()]
    scores: list[float | None] = [None] * len(texts)
    if present:
        values = workspace_scorer(session).score([str(texts[i]) for i in present])
        for i, value in zip(present, values, strict=True):
            scores[i] = float(value)
    return scores


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def keywords_of(text: str) -> set[str]:
    """The keywords of one text (each counted once)."""
    from soloist.analytics import text_language

    if text_language(text) != "zh":
        return {w for w in words_of(text) if w not in STOPWORDS}
    return {
        w.casefold()
        for w in _jieba().lcut(text)
        if len(w) >= 2 and w not in _ZH_STOP and not w.isdigit() and w.strip()
    }


def keywords(texts: Sequence[str], top: int = 10) -> list[tuple[str, int]]:
    """The ``top`` keywords said in at least two texts: (word, texts saying it)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(keywords_of(text))
    return [(word, n) for word, n in counts.most_common(top) if n >= 2]


@dataclass
class MonthOfFeedback:
    month: str  # YYYY-MM
    texts: int
    mean_sentiment: float | None
    negative_share: float | None
    negative_keywords: list[tuple[str, int]]


@dataclass
class FeedbackAnalysis:
    method: str
    rules_accuracy: float | None
    trained_accuracy: float | None
    labelled: int
    texts: int
    positive: int
    negative: int
    neutral: int
    by_language: dict[str, int] = field(default_factory=dict)
    negative_keywords: list[tuple[str, int]] = field(default_factory=list)
    positive_keywords: list[tuple[str, int]] = field(default_factory=list)
    months: list[MonthOfFeedback] = field(default_factory=list)


def _texts_since(session: Session, since: dt.datetime) -> list[tuple[dt.datetime, str]]:
    rows: list[tuple[dt.datetime, str]] = []
    for at, comment in session.execute(
        select(SurveyResponse.responded_at, SurveyResponse.comment).where(
            SurveyResponse.responded_at >= since
        )
    ):
        if comment and comment.strip():
            rows.append((at, comment))
    for at, title, body in session.execute(
        select(Review.published_at, Review.title, Review.body).where(Review.published_at >= since)
    ):
        text = " ".join(part for part in (title, body) if part).strip()
        if text:
            rows.append((at, text))
    return rows


def analyze_feedback(
    session: Session, *, months: int = 6, now: dt.datetime | None = None
) -> FeedbackAnalysis:
    """Sentiment and keywords of the survey comments and reviews of the last ``months``."""
    from soloist.analytics import text_language

    now = now or dt.datetime.now(dt.UTC)
    first = (now.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    start = dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC)
    rows = _texts_since(session, start)
    scorer = workspace_scorer(session)
    texts = [text for _, text in rows]
    scores = np.asarray(scorer.score(texts), dtype=float) if texts else np.zeros(0)
    negative = [t for t, s in zip(texts, scores, strict=True) if s < NEGATIVE_BELOW]
    positive = [t for t, s in zip(texts, scores, strict=True) if s > POSITIVE_ABOVE]
    analysis = FeedbackAnalysis(
        method=scorer.method,
        rules_accuracy=scorer.rules_accuracy,
        trained_accuracy=scorer.trained_accuracy,
        labelled=scorer.labelled,
        texts=len(texts),
        positive=len(positive),
        negative=len(negative),
        neutral=len(texts) - len(positive) - len(negative),
        by_language=dict(Counter(text_language(t) for t in texts)),
        negative_keywords=keywords(negative),
        positive_keywords=keywords(positive),
    )
    by_month: dict[str, list[tuple[str, float]]] = {}
    for (at, text), value in zip(rows, scores, strict=True):
        by_month.setdefault(f"{at.year:04d}-{at.month:02d}", []).append((text, float(value)))
    cursor = start
    for _ in range(months):
        label = f"{cursor.year:04d}-{cursor.month:02d}"
        said = by_month.get(label, [])
        values = np.array([v for _, v in said])
        analysis.months.append(
            MonthOfFeedback(
                month=label,
                texts=len(said),
                mean_sentiment=float(values.mean()) if said else None,
                negative_share=float((values < NEGATIVE_BELOW).mean()) if said else None,
                negative_keywords=keywords([t for t, v in said if v < NEGATIVE_BELOW], top=5),
            )
        )
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return analysis
