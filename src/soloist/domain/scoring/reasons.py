"""Why a score is what it is: one :class:`Reason` type and one stored shape for every producer.

``customer_scores.reasons`` holds ``{"<score>": [reason, …]}``, each reason a mapping with
``feature``, ``text``, ``effect`` and, where the reason compares the customer with the typical
one, ``value`` and ``typical``. The scores are ``churn`` and ``subscription`` (``soloist
churn``), ``segment`` and ``cluster`` (``soloist segments``). ``text`` is English, for the API
and the command line; the web app words the same figures in the reader's language from
``feature``, ``value`` and ``typical``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: the scores that carry reasons, in the order the customer page shows them
REASON_SCORES = ("churn", "subscription", "segment", "cluster")
#: the churn reason about what the customer wrote lately (not a model feature; scoring/churn.py)
FEEDBACK_FEATURE = "feedback_sentiment"


@dataclass(frozen=True)
class Reason:
    """One reason behind one customer's score.

    ``effect`` is the feature's signed contribution to the score (for churn risk: how much
    higher the risk is than with the typical value of that feature); 0.0 when the producer
    does not measure one (a segment's definition, a cluster's description).
    """

    feature: str
    text: str
    effect: float = 0.0
    value: float | None = None
    typical: float | None = None

    def to_stored(self) -> dict[str, Any]:
        # Written out field by field: dataclasses.asdict deep-copies every value (10 s of an
        # analysis storing half a million reasons); a comprehension over (key, value) pairs
        # took 0.36 µs a reason, this 0.09 µs.
        stored: dict[str, Any] = {"feature": self.feature, "text": self.text}
        if self.effect is not None:
            stored["effect"] = self.effect
        if self.value is not None:
            stored["value"] = self.value
        if self.typical is not None:
            stored["typical"] = self.typical
        return stored

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Reason:
        return cls(
            feature=str(data.get("feature", "")),
            text=str(data.get("text", "")),
            effect=_number(data.get("effect")) or 0.0,
            value=_number(data.get("value")),
            typical=_number(data.get("typical")),
        )


def stored_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """``Reason.from_stored(data).to_stored()`` without making the object between them: a
    million customers' three churn reasons each took seconds that way."""
    stored: dict[str, Any] = {
        "feature": str(data.get("feature", "")),
        "text": str(data.get("text", "")),
        "effect": _number(data.get("effect")) or 0.0,
    }
    for key in ("value", "typical"):
        number = _number(data.get(key))
        if number is not None:
            stored[key] = number
    return stored


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def stored_reasons(groups: Mapping[str, Iterable[Reason]]) -> dict[str, list[dict[str, Any]]]:
    """The JSON stored in ``customer_scores.reasons`` for ``groups`` (score → reasons)."""
    unknown = set(groups) - set(REASON_SCORES)
    if unknown:
        raise ValueError(f"no such score with reasons: {', '.join(sorted(unknown))}")
    return {score: [r.to_stored() for r in reasons] for score, reasons in groups.items()}


def read_reasons(stored: Mapping[str, Any] | None) -> dict[str, list[Reason]]:
    """Score → reasons, in :data:`REASON_SCORES` order, from a stored ``reasons`` value.

    Also reads what versions before 0.2 stored, so that an existing workspace shows its
    reasons before its next analysis: a bare string per score (segments), and
    ``{"risk", "expected_remaining_periods", "reasons": […]}`` for subscriptions.
    """
    found: dict[str, list[Reason]] = {}
    for score, value in (stored or {}).items():
        reasons = list(_legacy_or_current(str(score), value))
        if reasons:
            found[str(score)] = reasons
    return in_score_order(found)


def in_score_order(groups: Mapping[str, list[Reason]]) -> dict[str, list[Reason]]:
    """``groups`` in :data:`REASON_SCORES` order, scores it does not name last."""
    order = {score: i for i, score in enumerate(REASON_SCORES)}
    return dict(sorted(groups.items(), key=lambda item: order.get(item[0], len(order))))


def _legacy_or_current(score: str, value: Any) -> Iterable[Reason]:
    if isinstance(value, str):
        if value:
            yield Reason(feature=score, text=value)
    elif isinstance(value, Mapping):
        if "reasons" in value:
            yield from _legacy_or_current(score, value["reasons"])
        elif "text" in value:
            yield Reason.from_stored(value)
    elif isinstance(value, Iterable):
        for item in value:
            if isinstance(item, Mapping):
                yield Reason.from_stored(item)
            elif isinstance(item, str) and item:
                yield Reason(feature=score, text=item)
