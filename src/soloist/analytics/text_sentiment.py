"""Sentiment of customer feedback in English and Chinese, with the language told per text.

Out of the box the scores come from rules over word lists, in [−1, 1] (above 0 is positive):

- **English**: VADER (Hutto & Gilbert 2014), its lexicon extended with words and phrases about
  orders and service that it lacks ("refund", "stopped working", …;
  :mod:`.sentiment_lexicon`). A phrase is replaced by one token that carries its valence, so
  VADER's own rules (negation, "but", boosters, capitals, "!") still apply around it.
- **Chinese**: the same rules, in the same normalisation (VADER's eq. compound =
  x/√(x² + 15)), over a hand-written lexicon of feedback words found by longest match: a
  negator (不, 没有, …) within the three characters before a polar word (and no comma between)
  flips it and damps it by VADER's factor 0.74, a degree adverb (很, 太, 有点 …) scales it, and
  after a "but" (但是, 不过 …) the rest of the clause counts 1.5× and what came before 0.5×.
  Every term is also looked for in traditional characters.

Language: a text whose letters are at least 30 % Chinese characters is Chinese, else English.

Trained on the owner's data: :class:`TrainedSentiment` is character 1–3-gram TF-IDF with
logistic regression (works for both languages without segmentation), and
:func:`choose_sentiment` cross-validates it against the rules on labelled texts (review stars)
and keeps the better one.

References
----------
C. J. Hutto and E. Gilbert (2014). VADER: a parsimonious rule-based model for sentiment
analysis of social media text. *ICWSM-14*.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from .errors import AnalyticsError, NotFittedError
from .sentiment_lexicon import (
    EN_PHRASES,
    EN_WORDS,
    ZH_BOOSTERS,
    ZH_CONTRAST,
    ZH_NEGATORS,
    ZH_WORDS,
    traditional,
)

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

__all__ = [
    "SentimentChoice",
    "TrainedSentiment",
    "choose_sentiment",
    "sentiment",
    "text_language",
]

LANGUAGES = ("en", "zh")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_CLAUSE_END = re.compile(r"[。！？!?；;\n]")
_PHRASE_BREAK = frozenset("，,、")
_NEGATION_SCALAR = -0.74  # VADER's N_SCALAR
_NORMALISATION = 15.0  # VADER's alpha in compound = x / sqrt(x² + alpha)
# Each Chinese term also in traditional characters.
_WORDS = {**ZH_WORDS, **{traditional(w): v for w, v in ZH_WORDS.items()}}
_BOOSTERS = {**ZH_BOOSTERS, **{traditional(w): v for w, v in ZH_BOOSTERS.items()}}
_NEGATORS = ZH_NEGATORS | {traditional(w) for w in ZH_NEGATORS}
_CONTRAST = ZH_CONTRAST | {traditional(w) for w in ZH_CONTRAST}
_MAX_TERM = max(len(t) for t in (*_WORDS, *_NEGATORS, *_BOOSTERS, *_CONTRAST))


def text_language(text: str) -> str:
    """``"zh"`` when at least 30 % of the letters are Chinese characters, else ``"en"``."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return "en"
    return "zh" if len(_CJK.findall(text)) / letters >= 0.3 else "en"


# -- English -----------------------------------------------------------------------------------

_PHRASE_TOKENS = {
    phrase: "zzphrase" + "".join(ch for ch in phrase if ch.isalnum()) for phrase in EN_PHRASES
}
_PHRASE_PATTERN = re.compile(
    "|".join(re.escape(p) for p in sorted(EN_PHRASES, key=len, reverse=True)), re.IGNORECASE
)


@cache
def _vader() -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(EN_WORDS)
    analyzer.lexicon.update(
        {_PHRASE_TOKENS[phrase]: valence for phrase, valence in EN_PHRASES.items()}
    )
    return analyzer


def _english(text: str) -> float:
    marked = _PHRASE_PATTERN.sub(lambda m: " " + _PHRASE_TOKENS[m.group(0).lower()] + " ", text)
    return float(_vader().polarity_scores(marked)["compound"])


# -- Chinese -----------------------------------------------------------------------------------


def _terms(clause: str) -> list[tuple[str, str]]:
    """The lexicon's terms in a clause by longest match: (kind, term) pairs, in order."""
    found: list[tuple[str, str]] = []
    position = 0
    skipped = 0
    while position < len(clause):
        if clause[position] in _PHRASE_BREAK:  # a comma ends a negation's or booster's reach
            found.append(("gap", ""))
            position += 1
            skipped = 0
            continue
        for size in range(min(_MAX_TERM, len(clause) - position), 0, -1):
            piece = clause[position : position + size]
            kind = (
                "word"
                if piece in _WORDS
                else "negator"
                if piece in _NEGATORS
                else "booster"
                if piece in _BOOSTERS
                else "contrast"
                if piece in _CONTRAST
                else None
            )
            if kind:
                if skipped > 3:  # a long run of other words ends a negation or a booster's reach
                    found.append(("gap", ""))
                found.append((kind, piece))
                position += size
                skipped = 0
                break
        else:
            position += 1
            skipped += 1
    return found


def _chinese(text: str) -> float:
    total = 0.0
    for clause in _CLAUSE_END.split(text):
        before = 0.0
        after = 0.0
        contrasted = False
        negate = False
        boost = 0.0
        for kind, term in _terms(clause):
            if kind == "gap":
                negate, boost = False, 0.0
            elif kind == "negator":
                negate = not negate
            elif kind == "booster":
                boost += _BOOSTERS[term]
            elif kind == "contrast":
                contrasted = True
                negate, boost = False, 0.0
            else:
                valence = _WORDS[term]
                valence += boost * np.sign(valence)
                if negate:
                    valence *= _NEGATION_SCALAR
                if contrasted:
                    after += valence
                else:
                    before += valence
                negate, boost = False, 0.0
        total += before * 0.5 + after * 1.5 if contrasted else before
    if total == 0:
        return 0.0
    return float(total / np.sqrt(total * total + _NORMALISATION))


#: Scores of texts already scored, by a digest of the text and its language: one analysis
#: scores the same ticket messages and reviews up to three times (choosing the scorer, the
#: tickets' mood, each customer's mood), and short texts ("Thanks!") repeat. Emptied when full.
SCORES_REMEMBERED = 200_000
_remembered: dict[bytes, float] = {}
_remembered_lock = threading.Lock()


def _digest(text: str, language: str | None) -> bytes:
    return hashlib.blake2b(f"{language or ''}\0{text}".encode(), digest_size=16).digest()


def _score_one(text: str, language: str | None) -> float:
    tongue = language or text_language(text)
    return _chinese(text) if tongue == "zh" else _english(text)


def sentiment(texts: Iterable[str | None], language: str | None = None) -> np.ndarray:
    """Scores in [−1, 1] for each text, above 0 meaning positive (0 for an empty text).

    ``language`` ``"en"`` or ``"zh"`` scores every text in that language; ``None`` tells the
    language of each text (:func:`text_language`). A text met before (in this call or an
    earlier one) is not scored again: the rules give a text the same score every time.
    """
    if language is not None and language not in LANGUAGES:
        raise AnalyticsError(f"language must be one of {', '.join(LANGUAGES)} or None")
    given = [text if text and text.strip() else None for text in texts]
    keys = [None if text is None else _digest(text, language) for text in given]
    with _remembered_lock:
        known = {key: _remembered[key] for key in keys if key is not None and key in _remembered}
    new: dict[bytes, float] = {}
    for text, key in zip(given, keys, strict=True):
        if text is not None and key is not None and key not in known and key not in new:
            new[key] = _score_one(text, language)
    if new:
        with _remembered_lock:
            if len(_remembered) + len(new) > SCORES_REMEMBERED:
                _remembered.clear()
            if len(new) <= SCORES_REMEMBERED:
                _remembered.update(new)
    found = known | new
    return np.asarray([0.0 if key is None else found[key] for key in keys], dtype=float)


# -- trained on the owner's labels -------------------------------------------------------------


class TrainedSentiment:
    """Character 1–3-gram TF-IDF and logistic regression, trained on labelled texts.

    ``fit(texts, labels)`` takes labels 1 (positive) and 0 (negative); ``score(texts)`` gives
    2·P(positive) − 1, in [−1, 1] like :func:`sentiment`.
    """

    def __init__(self, *, c: float = 4.0, max_features: int = 200_000) -> None:
        self.c = c
        self.max_features = max_features
        self._pipeline: Any = None

    def _new_pipeline(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        return make_pipeline(
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(1, 3),
                sublinear_tf=True,
                min_df=2,
                max_features=self.max_features,
                lowercase=True,
            ),
            LogisticRegression(C=self.c, max_iter=2000, class_weight="balanced"),
        )

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> Self:
        y = _labels(texts, labels)
        self._pipeline = self._new_pipeline().fit(list(texts), y)
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's score; a text met twice is scored once (feedback repeats itself: "Great
        service!"), which gives the same numbers, each text's prediction being its own."""
        if self._pipeline is None:
            raise NotFittedError("TrainedSentiment is not fitted: call fit(texts, labels) first")
        place: dict[str, int] = {}
        where = np.fromiter(
            (place.setdefault(text, len(place)) for text in texts), dtype=np.int64, count=len(texts)
        )
        if not place:
            return np.zeros(0)
        probability = self._pipeline.predict_proba(list(place))[:, 1]
        return np.asarray(2.0 * probability[where] - 1.0, dtype=float)


def _labels(texts: Sequence[str], labels: Sequence[int]) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (len(texts),):
        raise AnalyticsError(f"labels has {y.size} values for {len(texts)} texts")
    if not np.isin(y, (0, 1)).all():
        raise AnalyticsError("labels must be 1 (positive) or 0 (negative)")
    return y.astype(int)


#: labelled texts beyond which the rules and the trained model are compared on a sample
COMPARED_AT_MOST = 20_000
#: labelled texts beyond which the chosen trained model learns from a sample: 281,000 reviews
#: took 12 s to learn from (the million-customer demo has 785,000), for no accuracy a score's
#: use could tell
LEARNED_FROM_AT_MOST = 100_000


@dataclass(frozen=True)
class SentimentChoice:
    """Which method scores a workspace's feedback, and how well each did on its labels."""

    method: str  # "trained" or "rules"
    rules_accuracy: float
    trained_accuracy: float | None  # None when there were too few labelled texts
    labelled: int
    model: TrainedSentiment | None
    learned_from: int = 0  # the labelled texts the trained model was fitted on


def choose_sentiment(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    folds: int = 5,
    minimum: int = 200,
    compared_at_most: int = COMPARED_AT_MOST,
    learned_from_at_most: int = LEARNED_FROM_AT_MOST,
) -> SentimentChoice:
    """Cross-validate the trained model against the rules on labelled texts; keep the better.

    With fewer than ``minimum`` labelled texts, or fewer than ``folds`` of either label, only
    the rules are scored. The trained model takes over only when its ``folds``-fold accuracy is
    higher than the rules' accuracy on the same texts. Beyond ``compared_at_most`` labelled
    texts the two are compared on a seeded sample of that many, stratified by label (an
    accuracy's standard error is then under 0.4 points; cross-validating 78,000 reviews took
    26 s), and the chosen model is fitted on all of them, or on a seeded stratified sample of
    ``learned_from_at_most``.
    """
    y = _labels(texts, labels)
    smaller_class = int(min(y.sum(), y.size - y.sum())) if y.size else 0
    if y.size < minimum or smaller_class < folds:
        rules_accuracy = float(((sentiment(texts) > 0).astype(int) == y).mean()) if y.size else 0.0
        return SentimentChoice("rules", rules_accuracy, None, int(y.size), None)
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

    compared, compared_y = list(texts), y
    if y.size > compared_at_most:
        compared, _, compared_y, _ = train_test_split(
            compared, y, train_size=compared_at_most, stratify=y, random_state=0
        )
    rules_accuracy = float(((sentiment(compared) > 0).astype(int) == compared_y).mean())
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    trained_accuracy = float(
        cross_val_score(
            TrainedSentiment()._new_pipeline(), compared, compared_y, cv=splitter
        ).mean()
    )
    if trained_accuracy > rules_accuracy:
        model, learned = train_sentiment(texts, y, learned_from_at_most=learned_from_at_most)
        return SentimentChoice(
            "trained", rules_accuracy, trained_accuracy, int(y.size), model, learned
        )
    return SentimentChoice("rules", rules_accuracy, trained_accuracy, int(y.size), None)


def train_sentiment(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    learned_from_at_most: int = LEARNED_FROM_AT_MOST,
) -> tuple[TrainedSentiment, int]:
    """The trained model :func:`choose_sentiment` keeps when it wins, fitted on ``texts`` (or on
    the same seeded sample of ``learned_from_at_most`` of them, stratified by label) without
    the cross-validation: for a choice already made on these texts. Returns the model and the
    number of texts it learned from."""
    y = _labels(texts, list(labels))
    learned, learned_y = list(texts), y
    if y.size > learned_from_at_most:
        from sklearn.model_selection import train_test_split

        learned, _, learned_y, _ = train_test_split(
            learned, y, train_size=learned_from_at_most, stratify=y, random_state=0
        )
    return TrainedSentiment().fit(learned, learned_y.tolist()), len(learned)
