"""What customers' words say: sentiment of review and survey-comment text, and its keywords.

The scorer is chosen per workspace (:func:`soloist.analytics.choose_sentiment`): the rules (VADER
for English, Soloist's lexicon for Chinese) until the workspace has enough reviews with text
whose stars label them (4–5 positive, 1–2 negative, 3 left out), then the model trained on
them, but only if its 5-fold accuracy beats the rules' on the same reviews. The choice is kept
in memory and made again in the background when the reviews have grown by 5 %. A churn run
records the choice it scored with (its metrics' ``sentiment``), so that a new process (the next
``soloist analyze``, the web app after a restart) takes it from there while the reviews have not
grown by 5 % since, instead of cross-validating again: 3.4-7.7 s for the 100,000-customer
demo's 20,000 compared reviews (a trained choice is fitted again, without the cross-validation).

Keywords: the words said most often in a set of texts (each counted once per text): English
words of three letters or more without the common ones, Chinese words as jieba segments them
(two characters or more, without the common ones).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.caches import (
    current_or_previous,
    current_or_previous_within,
    stale_while_revalidate,
)
from soloist.domain.reports.voice import STOPWORDS, ZH_STOPWORDS, words_of
from soloist.storage.caches import VersionedCache
from soloist.storage.models import (
    CustomerScore,
    ModelRun,
    Review,
    SurveyResponse,
    Ticket,
    TicketMessage,
)

log = logging.getLogger(__name__)
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
_choices: VersionedCache[str, Any] = VersionedCache("sentiment choices", maxsize=4)


@dataclass(frozen=True)
class Scorer:
    """How this workspace's texts are scored, and how well each method did on its reviews."""

    method: str  # "rules" or "trained"
    rules_accuracy: float | None
    trained_accuracy: float | None
    labelled: int
    score: Callable[[Sequence[str]], np.ndarray]
    reviews_version: int | None = None  # the reviews' count, in steps of 5 %, it was chosen at

    def record(self) -> dict[str, Any]:
        """The choice as a run records it (:func:`recorded_choice` reads it back)."""
        return {
            "method": self.method,
            "rules_accuracy": self.rules_accuracy,
            "trained_accuracy": self.trained_accuracy,
            "labelled": self.labelled,
            "reviews_version": self.reviews_version,
        }


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


def _rules(batch: Sequence[str]) -> np.ndarray:
    from soloist.analytics import sentiment

    return sentiment(batch)


def _choose_scorer(session: Session, version: int) -> Scorer:
    from soloist.analytics import choose_sentiment, train_sentiment

    texts, labels = _labelled_reviews(session)
    if not texts:
        return Scorer("rules", None, None, 0, _rules, version)
    recorded = recorded_choice(session, version)
    model: Any = None
    if recorded is not None and (recorded["method"] == "rules" or len(set(labels)) == 2):
        rules_accuracy, trained_accuracy = recorded["rules_accuracy"], recorded["trained_accuracy"]
        if recorded["method"] == "trained":
            model, _ = train_sentiment(texts, labels)
    else:
        choice = choose_sentiment(texts, labels)
        rules_accuracy, trained_accuracy = choice.rules_accuracy, choice.trained_accuracy
        model = choice.model if choice.method == "trained" else None
    if model is None:
        return Scorer("rules", rules_accuracy, trained_accuracy, len(texts), _rules, version)
    return Scorer("trained", rules_accuracy, trained_accuracy, len(texts), model.score, version)


def recorded_choice(session: Session, version: int) -> dict[str, Any] | None:
    """The scorer choice the newest successful churn run recorded, if it was made at this
    ``version`` of the reviews (their count in steps of 5 %): None when there is none, or when
    the reviews have grown or shrunk by a step since."""
    metrics = session.scalar(
        select(ModelRun.metrics)
        .where(ModelRun.kind == "churn", ModelRun.status == "succeeded")
        .order_by(ModelRun.id.desc())
        .limit(1)
    )
    record = (metrics or {}).get("sentiment")
    if not isinstance(record, dict) or record.get("reviews_version") != version:
        return None
    if record.get("method") not in ("rules", "trained"):
        return None
    return record


def reviews_version(session: Session) -> int:
    """The reviews' count in steps of 5 %: the scorer is chosen again when it changes."""
    count = int(session.scalar(select(func.count(Review.id))) or 0)
    return int(math.log1p(count) / math.log(1.05))


def workspace_scorer(session: Session) -> Scorer:
    """The scorer in use, chosen again when the reviews have grown by 5 % (a new review does
    not retrain anything): meanwhile the previous choice scores while a background thread
    chooses again, so no request waits for a cross-validation. A choice a churn run recorded
    at the same count of reviews is taken as it is (:func:`recorded_choice`)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = reviews_version(session)
    return stale_while_revalidate(
        _choices, session, url, version, lambda own: _choose_scorer(own, version)
    )


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
        if len(w) >= 2 and w not in ZH_STOPWORDS and not w.isdigit() and w.strip()
    }


def keywords(texts: Sequence[str], top: int = 10) -> list[tuple[str, int]]:
    """The ``top`` keywords said in at least two texts: (word, texts saying it)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(keywords_of(text))
    return [(word, n) for word, n in counts.most_common(top) if n >= 2]


def distinctive_keywords(
    group: Sequence[str], rest: Sequence[str], top: int = 10, prior: float = 1.0
) -> list[tuple[str, int]]:
    """The words that set ``group`` apart from ``rest``: (word, texts of the group saying it).

    The log-odds ratio with an informative prior (Monroe, Colaresi & Quinn 2008, "Fightin'
    words", §3.5), over texts: of the group's n texts y_w say w, of the rest's n', y'_w. With
    the pooled share p_w = (y_w + y'_w) / (n + n') as a Beta(α_w, β_w) prior of strength
    ``prior`` (α_w = prior · p_w, β_w = prior · (1 − p_w)),

        δ_w = ln((y_w + α_w) / (n − y_w + β_w)) − ln((y'_w + α_w) / (n' − y'_w + β_w))
        z_w = δ_w / √(1/(y_w + α_w) + 1/(n − y_w + β_w) + 1/(y'_w + α_w) + 1/(n' − y'_w + β_w))

    Kept: words in at least two texts of the group with z_w > 1 (one standard error: a small
    shop has few texts, and the ranking matters more than a test), highest z first. A word
    every customer uses ("order", "coffee") is as common in the rest and drops out.
    """
    mine: Counter[str] = Counter()
    theirs: Counter[str] = Counter()
    for text in group:
        mine.update(keywords_of(text))
    for text in rest:
        theirs.update(keywords_of(text))
    n, n_rest = len(group), len(rest)
    if not n:
        return []
    scored: list[tuple[float, str, int]] = []
    for word, y in mine.items():
        if y < 2:
            continue
        y_rest = theirs.get(word, 0)
        if y + y_rest == n + n_rest:
            continue  # in every text: sets nothing apart
        pooled = (y + y_rest) / (n + n_rest)
        alpha, beta = prior * pooled, prior * (1 - pooled)
        delta = math.log((y + alpha) / (n - y + beta)) - math.log(
            (y_rest + alpha) / (n_rest - y_rest + beta)
        )
        variance = 1 / (y + alpha) + 1 / (n - y + beta)
        variance += 1 / (y_rest + alpha) + 1 / (n_rest - y_rest + beta)
        z = delta / math.sqrt(variance)
        if z > 1.0:
            scored.append((z, word, y))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [(word, y) for _, word, y in scored[:top]]


@dataclass
class MonthOfFeedback:
    month: str  # YYYY-MM
    texts: int
    mean_sentiment: float | None
    negative_share: float | None
    negative_keywords: list[tuple[str, int]]


@dataclass
class SegmentVoice:
    segment: str  # the customers' RFM segment in the latest analysis
    texts: int
    negative_share: float
    negative_keywords: list[tuple[str, int]]


@dataclass(frozen=True)
class SaidText:
    at: dt.datetime
    source: str  # "survey", "review" or "ticket"
    source_id: int
    customer_id: int | None
    text: str
    sentiment: float = 0.0


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
    by_source: dict[str, int] = field(default_factory=dict)
    negative_keywords: list[tuple[str, int]] = field(default_factory=list)
    positive_keywords: list[tuple[str, int]] = field(default_factory=list)
    months: list[MonthOfFeedback] = field(default_factory=list)
    segments: list[SegmentVoice] = field(default_factory=list)
    most_negative: list[SaidText] = field(default_factory=list)


def _texts_since(
    session: Session, since: dt.datetime, customer_id: int | None = None
) -> list[SaidText]:
    surveys = select(
        SurveyResponse.id,
        SurveyResponse.customer_id,
        SurveyResponse.responded_at,
        SurveyResponse.comment,
    ).where(SurveyResponse.responded_at >= since)
    reviews = select(
        Review.id, Review.customer_id, Review.published_at, Review.title, Review.body
    ).where(Review.published_at >= since)
    messages = (
        select(Ticket.id, Ticket.customer_id, TicketMessage.created_at, TicketMessage.body)
        .join(Ticket, Ticket.id == TicketMessage.ticket_id)
        .where(
            TicketMessage.created_at >= since,
            TicketMessage.author_kind == "customer",
            TicketMessage.internal.is_(False),
        )
    )
    if customer_id is not None:
        surveys = surveys.where(SurveyResponse.customer_id == customer_id)
        reviews = reviews.where(Review.customer_id == customer_id)
        messages = messages.where(Ticket.customer_id == customer_id)
    rows: list[SaidText] = []
    for rid, customer, at, comment in session.execute(surveys):
        if comment and comment.strip():
            rows.append(SaidText(at, "survey", rid, customer, comment.strip()))
    for rid, customer, at, title, body in session.execute(reviews):
        text = " ".join(part for part in (title, body) if part).strip()
        if text:
            rows.append(SaidText(at, "review", rid, customer, text))
    for tid, customer, at, body in session.execute(messages):
        if body and body.strip():
            rows.append(SaidText(at, "ticket", tid, customer, body.strip()))
    return rows


def customer_complaints(
    session: Session, customer_id: int, days: int = 180, top: int = 5
) -> list[str]:
    """The words of one customer's negative texts of the last ``days`` (most said first): what
    they complain about. Worked out when asked, from the decrypted texts, never stored."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    said = _texts_since(session, since, customer_id)
    if not said:
        return []
    scores = workspace_scorer(session).score([r.text for r in said])
    counts: Counter[str] = Counter()
    for row, value in zip(said, scores, strict=True):
        if value < NEGATIVE_BELOW:
            counts.update(keywords_of(row.text))
    return [word for word, _ in counts.most_common(top)]


def customer_sentiment(
    session: Session, since: dt.datetime, until: dt.datetime | None = None
) -> dict[int, float]:
    """Each customer's mean sentiment over what they wrote from ``since`` (to ``until``)."""
    said = [
        r
        for r in _texts_since(session, since)
        if r.customer_id is not None and (until is None or _aware(r.at) < until)
    ]
    if not said:
        return {}
    scores = workspace_scorer(session).score([r.text for r in said])
    totals: dict[int, list[float]] = {}
    for row, value in zip(said, scores, strict=True):
        totals.setdefault(int(row.customer_id or 0), []).append(float(value))
    return {customer: float(np.mean(values)) for customer, values in totals.items()}


def ticket_sentiment(session: Session, ticket_ids: Sequence[int]) -> dict[int, float]:
    """Mean sentiment of the customer's own messages in each ticket."""
    wanted = sorted(set(ticket_ids))
    bodies: list[tuple[int, str]] = []
    for start in range(0, len(wanted), 1000):
        bodies += [
            (int(tid), str(body))
            for tid, body in session.execute(
                select(TicketMessage.ticket_id, TicketMessage.body).where(
                    TicketMessage.ticket_id.in_(wanted[start : start + 1000]),
                    TicketMessage.author_kind == "customer",
                    TicketMessage.internal.is_(False),
                )
            )
            if body and body.strip()
        ]
    if not bodies:
        return {}
    scores = workspace_scorer(session).score([body for _, body in bodies])
    totals: dict[int, list[float]] = {}
    for (tid, _), value in zip(bodies, scores, strict=True):
        totals.setdefault(tid, []).append(float(value))
    return {tid: float(np.mean(values)) for tid, values in totals.items()}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _segments_of(session: Session, customers: set[int]) -> dict[int, str]:
    from soloist.domain.scoring import latest_run

    run = latest_run(session, "segments")
    if run is None or not customers:
        return {}
    found: dict[int, str] = {}
    ids = sorted(customers)
    for start in range(0, len(ids), 1000):
        found.update(
            (customer, str(segment))
            for customer, segment in session.execute(
                select(CustomerScore.customer_id, CustomerScore.segment).where(
                    CustomerScore.model_run_id == run.id,
                    CustomerScore.customer_id.in_(ids[start : start + 1000]),
                    CustomerScore.segment.is_not(None),
                )
            )
        )
    return found


_analyses: VersionedCache[tuple[str, int, int], FeedbackAnalysis] = VersionedCache(
    "feedback analyses", maxsize=16, kept=True
)


def _feedback_version(session: Session) -> tuple[Any, ...]:
    """What the analysis depends on: the texts, the reviews (the scorer) and the segments."""
    from soloist.domain.scoring import latest_run

    surveys = session.execute(
        select(func.count(SurveyResponse.id), func.max(SurveyResponse.id))
    ).one()
    reviews = session.execute(select(func.count(Review.id), func.max(Review.id))).one()
    messages = session.execute(
        select(func.count(TicketMessage.id), func.max(TicketMessage.id))
    ).one()
    run = latest_run(session, "segments")
    return (*surveys, *reviews, *messages, run.id if run is not None else None)


def analyze_feedback(
    session: Session, *, months: int = 6, now: dt.datetime | None = None
) -> FeedbackAnalysis:
    """Sentiment and keywords of the survey comments, reviews and customers' ticket messages
    of the last ``months`` calendar months (this one included): overall, month by month, per
    RFM segment, and the most negative texts. Kept in memory until the texts change."""
    now = now or dt.datetime.now(dt.UTC)
    return _analyses.get_or_compute(
        _analysis_key(session, months, now),
        _feedback_version(session),
        lambda: _analyze(session, months, now),
    )


def current_feedback_analysis(
    session: Session, *, months: int = 6, wait: float | None = None
) -> tuple[FeedbackAnalysis | None, bool]:
    """The feedback page's analysis and whether it is the previous one (then a background
    thread is working out the current one): at 100,000 customers it takes half a minute, and
    every new ticket message, survey answer or review changes it, so the page shows the last
    one, marked, rather than wait (:func:`soloist.domain.caches.current_or_previous`). With
    ``wait``, the first analysis of all is waited for that many seconds at most (``None`` when
    it is not ready by then)."""
    now = dt.datetime.now(dt.UTC)
    key, version = _analysis_key(session, months, now), _feedback_version(session)

    def analyze(own: Session) -> FeedbackAnalysis:
        return _analyze(own, months, now)

    if wait is not None:
        return current_or_previous_within(_analyses, session, key, version, analyze, wait)
    return current_or_previous(_analyses, session, key, version, analyze)


def _analysis_key(session: Session, months: int, now: dt.datetime) -> tuple[str, int, int]:
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return (url, months, now.year * 12 + now.month)


def _analyze(session: Session, months: int, now: dt.datetime) -> FeedbackAnalysis:
    from soloist.analytics import text_language

    year, month = divmod(now.year * 12 + now.month - 1 - (months - 1), 12)
    start = dt.datetime(year, month + 1, 1, tzinfo=dt.UTC)
    scorer = workspace_scorer(session)
    said = _texts_since(session, start)
    values: Sequence[float] = (
        np.asarray(scorer.score([s.text for s in said]), dtype=float).tolist() if said else []
    )
    rows = [
        SaidText(s.at, s.source, s.source_id, s.customer_id, s.text, float(v))
        for s, v in zip(said, values, strict=True)
    ]
    negative = [r.text for r in rows if r.sentiment < NEGATIVE_BELOW]
    positive = [r.text for r in rows if r.sentiment > POSITIVE_ABOVE]
    not_negative = [r.text for r in rows if r.sentiment >= NEGATIVE_BELOW]
    not_positive = [r.text for r in rows if r.sentiment <= POSITIVE_ABOVE]
    analysis = FeedbackAnalysis(
        method=scorer.method,
        rules_accuracy=scorer.rules_accuracy,
        trained_accuracy=scorer.trained_accuracy,
        labelled=scorer.labelled,
        texts=len(rows),
        positive=len(positive),
        negative=len(negative),
        neutral=len(rows) - len(positive) - len(negative),
        by_language=dict(Counter(text_language(r.text) for r in rows)),
        by_source=dict(Counter(r.source for r in rows)),
        negative_keywords=distinctive_keywords(negative, not_negative),
        positive_keywords=distinctive_keywords(positive, not_positive),
        most_negative=sorted(
            (r for r in rows if r.sentiment < NEGATIVE_BELOW), key=lambda r: r.sentiment
        )[:10],
    )
    by_month: dict[str, list[SaidText]] = {}
    for row in rows:
        by_month.setdefault(f"{row.at.year:04d}-{row.at.month:02d}", []).append(row)
    cursor = start
    for _ in range(months):
        label = f"{cursor.year:04d}-{cursor.month:02d}"
        said_then = by_month.get(label, [])
        scores = np.array([r.sentiment for r in said_then])
        analysis.months.append(
            MonthOfFeedback(
                month=label,
                texts=len(said_then),
                mean_sentiment=float(scores.mean()) if said_then else None,
                negative_share=float((scores < NEGATIVE_BELOW).mean()) if said_then else None,
                negative_keywords=distinctive_keywords(
                    [r.text for r in said_then if r.sentiment < NEGATIVE_BELOW],
                    not_negative,
                    top=5,
                ),
            )
        )
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    segments = _segments_of(session, {r.customer_id for r in rows if r.customer_id})
    by_segment: dict[str, list[SaidText]] = {}
    for row in rows:
        if row.customer_id in segments:
            by_segment.setdefault(segments[row.customer_id], []).append(row)
    for segment, said_there in sorted(by_segment.items(), key=lambda kv: -len(kv[1])):
        unhappy = [r.text for r in said_there if r.sentiment < NEGATIVE_BELOW]
        analysis.segments.append(
            SegmentVoice(
                segment=segment,
                texts=len(said_there),
                negative_share=len(unhappy) / len(said_there),
                negative_keywords=distinctive_keywords(unhappy, not_negative, top=5),
            )
        )
    return analysis
