"""The report's voice of the customer: NPS, CSAT and CES per period, and the themes of the
negative feedback of the report's period.

Negative feedback is an NPS answer of 0–6 (a detractor), a CSAT answer of 1–2, a CES answer of
1–3 (hard) with a comment, and a review of one or two stars. Its themes are the words said most
often: English words of three letters or more without the common ones, and for Chinese text
(which has no spaces) the pairs of characters, counted once per comment.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from soloist.analytics import metrics
from soloist.domain.reports.periods import Period
from soloist.storage.models import Review, SurveyResponse

NEGATIVE = {"nps": 6, "csat": 2, "ces": 3}  # the highest score that counts as negative
THEMES = 8
_WORD = re.compile(r"[^\W\d_]{3,}")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_STOP_TEXT = """about after again all also and any are because been before being but can could
did does doing don done down even every for from get got had has have having her here him his
how into its just like made make many more most much must not now off once only other our out
over really said same she should since some still such than that the their them then there
these they this those through too under until very was way well were what when where which while
who why will with would you your yet isn didn doesn won can couldn wasn"""
STOPWORDS = frozenset(_STOP_TEXT.split())
#: Chinese words too common to be a keyword (jieba's segments), simplified and traditional.
_ZH_STOP_TEXT = """我们 你们 他们 一个 这个 那个 没有 就是 还是 但是 什么 怎么 可以 因为 所以 已经
这样 那么 这么 还有 的话 时候 一下 一次 东西 感觉 觉得 真的 非常 比较 有点 一個
這個 那個 沒有 什麼 怎麼 兩個 還是 因為 已經 這樣 那麼 這麼 還有 時候 東西 覺得
比較 有點 自己 而且"""
ZH_STOPWORDS = frozenset(_ZH_STOP_TEXT.split())
CJK_STOP = frozenset(
    {"我们", "你们", "他们", "一个", "这个", "那个", "没有", "就是", "还是", "但是"}
)


@dataclass(frozen=True)
class Score:
    value: float | None
    responses: int


@dataclass
class VoiceFigures:
    # kind → per trend period (oldest first): the score and how many answered
    trend: dict[str, list[Score]] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    negative_comments: int = 0
    themes: list[tuple[str, int]] = field(default_factory=list)  # (word, comments saying it)


def _score(kind: str, values: np.ndarray) -> float | None:
    if not values.size:
        return None
    if kind == "nps":
        return metrics.nps(values)
    if kind == "csat":  # the share answering 4 or 5, as a fraction
        return metrics.csat(values, scale=5, mode="percent") / 100
    return metrics.ces(values)


def words_of(text: str) -> set[str]:
    """The theme words of one comment (each counted once)."""
    folded = text.casefold()
    found = {w for w in _WORD.findall(_CJK.sub(" ", folded)) if w not in STOPWORDS}
    for run in _CJK.findall(folded):
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return {w for w in found if w not in CJK_STOP}


def voice_figures(session: Session, trend: list[Period]) -> VoiceFigures:
    figures = VoiceFigures(labels=[p.label for p in trend])
    rows = session.execute(
        select(SurveyResponse.kind, SurveyResponse.score, SurveyResponse.responded_at).where(
            SurveyResponse.kind.in_(tuple(NEGATIVE)),
            SurveyResponse.responded_at >= trend[0].start,
            SurveyResponse.responded_at < trend[-1].end,
        )
    ).all()
    for kind in NEGATIVE:
        per_period: list[list[float]] = [[] for _ in trend]
        for k, score, at in rows:
            if k != kind:
                continue
            moment = at if at.tzinfo else at.replace(tzinfo=trend[0].start.tzinfo)
            for i, period in enumerate(trend):
                if period.contains(moment):
                    per_period[i].append(float(score))
                    break
        figures.trend[kind] = [
            Score(_score(kind, np.array(values)), len(values)) for values in per_period
        ]
    current = trend[-1]
    in_period = and_(
        SurveyResponse.responded_at >= current.start, SurveyResponse.responded_at < current.end
    )
    negative = or_(
        *(
            and_(SurveyResponse.kind == kind, SurveyResponse.score <= top)
            for kind, top in NEGATIVE.items()
        )
    )
    comments = list(
        session.scalars(select(SurveyResponse.comment).where(in_period, negative))
    )  # decrypted by the column type
    comments += [
        " ".join(part for part in (title, body) if part)
        for title, body in session.execute(
            select(Review.title, Review.body).where(
                Review.rating <= 2,
                Review.published_at >= current.start,
                Review.published_at < current.end,
            )
        )
    ]
    said = [text for text in comments if text and text.strip()]
    figures.negative_comments = len(said)
    counts: Counter[str] = Counter()
    for text in said:
        counts.update(words_of(text))
    figures.themes = [(word, n) for word, n in counts.most_common(THEMES) if n >= 2]
    return figures
