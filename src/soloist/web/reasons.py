"""Score reasons and cluster descriptions in the reader's language.

The domain stores each reason with English ``text`` for the API and the command line; a page
words the same facts itself:

- a churn or subscription reason from its ``feature``, ``value`` and ``typical``, with Babel's
  numbers, money, percentages and durations; a feature this module does not know keeps its
  English ``text``;
- the RFM reason and a cluster's description from their English text, which follows a closed
  grammar (``RFM 555: last order 3 days ago, …`` from :mod:`soloist.domain.scoring.segments`,
  and the phrases of :data:`soloist.analytics.clustering_words.PHRASES`): read back phrase by
  phrase, each template is translated and its figures re-formatted. A phrase that does not match
  stays English, so a change of wording upstream degrades to English instead of breaking the
  page; ``tests/web/test_wording.py`` keeps :data:`CLUSTER_PHRASES` equal to the analytics'
  templates and reads back what the domain writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Protocol

from soloist.web.i18n import Formatter, Translator
from soloist.web.labels import N_


class ReasonLike(Protocol):
    """What a page reads of a reason (soloist.domain.scoring.reasons.Reason)."""

    @property
    def feature(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def value(self) -> float | None: ...
    @property
    def typical(self) -> float | None: ...


#: the churn and subscription features worded from their figures (others keep their text)
REASON_FEATURES = frozenset(
    {
        "recency_days",
        "orders",
        "total_spent",
        "average_order_value",
        "tenure_days",
        "interpurchase_days",
        "overdue_ratio",
        "orders_90d",
        "orders_prev_90d",
        "spent_90d",
        "p_alive",
        "csat",
        "nps",
        "tickets",
        "feedback_sentiment",
        "price",
        "subscription_risk",
        "expected_remaining_periods",
        "renewals",
    }
)
#: one-hot features of the subscription model, ``column=value``, by column
ONE_HOT_COLUMNS = {"plan": N_("plan"), "billing_interval": N_("billing interval")}
#: analytics.customer_features.describe_reason words a one-order customer's gap like this
ONE_ORDER_TEXT = "only one order so far"

#: soloist.domain.scoring.segments words the RFM reason like this
RFM_TEXT = re.compile(
    r"RFM (?P<code>\d+): last order (?P<days>\d+(?:\.\d+)?) days ago, "
    r"(?P<orders>\d+) orders?, spent (?P<spent>-?[\d,]+(?:\.\d+)?)"
)

#: the phrases of a cluster description (soloist.analytics.clustering_words.PHRASES)
CLUSTER_PHRASES = (
    N_("spend %(ratio)s× the median"),
    N_("spend far below the median"),
    N_("typical spend"),
    N_("bought once"),
    N_("mostly one-time buyers (%(share)s)"),
    N_("%(share)s bought only once"),
    N_("buy weekly"),
    N_("buy every two weeks"),
    N_("buy monthly"),
    N_("buy every few months"),
    N_("buy about twice a year"),
    N_("buy about once a year or less"),
    N_("order count %(ratio)s× the median"),
    N_("order count far below the median"),
    N_("mostly %(category)s"),
    N_("a mix of categories"),
    N_("last seen %(ago)s ago"),
    N_("last seen today"),
    N_("new (first order %(ago)s ago)"),
    N_("happier than most (CSAT %(score)s)"),
    N_("less happy than most (CSAT %(score)s)"),
    N_("happier than most (NPS answer %(score)s)"),
    N_("less happy than most (NPS answer %(score)s)"),
    N_("open many support tickets (%(score)s each)"),
    N_("high %(feature)s"),
    N_("low %(feature)s"),
    N_("unusual customers who fit no group (outliers)"),
    N_("typical customers"),
)
CLUSTER_SEPARATOR = ", "
# what each field of a cluster phrase looks like in the English text
_FIELD_PATTERNS = {
    "ratio": r"\d+(?:\.\d+)?",
    "score": r"-?\d+(?:\.\d+)?",
    "ago": r"an unknown time|today|\d+(?:\.\d+)? (?:days?|weeks?|months?|years?)",
    "category": r".+?",
    "feature": r"[^,]+?",
    "share": r"\d+(?:\.\d+)?%",
}
_DAYS_PER = {"day": 1.0, "week": 7.0, "month": 30.4, "year": 365.25}


def _template_pattern(template: str) -> re.Pattern[str]:
    pattern, position = "", 0
    for field in re.finditer(r"%\((\w+)\)s", template):
        pattern += re.escape(template[position : field.start()])
        pattern += f"(?P<{field.group(1)}>{_FIELD_PATTERNS[field.group(1)]})"
        position = field.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern + r"(?=, |$)")


_CLUSTER_PATTERNS = [(template, _template_pattern(template)) for template in CLUSTER_PHRASES]


def _english_days(text: str) -> float | None:
    """ "3 days" → 3, "2 weeks" → 14, "1.5 years" → 547.9 (what humanize_days wrote)."""
    if text == "today":
        return 0.0
    number, _, unit = text.partition(" ")
    try:
        return float(number) * _DAYS_PER[unit.rstrip("s")]
    except (KeyError, ValueError):
        return None


class ReasonWording:
    """Reasons and cluster descriptions for one page: its language, formats and currency."""

    def __init__(self, translator: Translator, fmt: Formatter, currency: str) -> None:
        self._ = translator.gettext
        self.ngettext = translator.ngettext
        self.fmt = fmt
        self.currency = currency

    def reason(self, reason: ReasonLike) -> str:
        """One reason in the page's language (its English ``text`` when it cannot be worded)."""
        if reason.feature == "rfm":
            return self._rfm(reason.text)
        if reason.feature == "cluster":
            return self.cluster(reason.text)
        if reason.value is not None:
            worded = self._figures(reason.feature, reason.value, reason.typical, reason.text)
            if worded is not None:
                return worded
        return reason.text

    def _money(self, value: float) -> str:
        return self.fmt.money(Decimal(str(round(value, 2))), self.currency)

    def _figures(self, feature: str, v: float, m: float | None, text: str) -> str | None:
        _, fmt = self._, self.fmt
        if feature == "subscription_risk":
            return _("%(value)s risk of cancelling within the horizon") % {
                "value": fmt.percent(v, 0)
            }
        if feature == "expected_remaining_periods":
            return _("about %(value)s more billing periods expected") % {"value": fmt.number(v, 1)}
        if feature == "renewals":
            n = round(v)
            return self.ngettext("%(num)s renewal so far", "%(num)s renewals so far", n) % {
                "num": fmt.number(n)
            }
        column, equals, level = feature.partition("=")
        if equals and column in ONE_HOT_COLUMNS:
            what = {"feature": _(ONE_HOT_COLUMNS[column]), "value": level}
            if v >= 0.5:
                return _("%(feature)s is %(value)s") % what
            return _("%(feature)s is not %(value)s") % what
        if m is None or feature not in REASON_FEATURES:
            return None
        if feature == "interpurchase_days" and text.startswith(ONE_ORDER_TEXT):
            return _("only one order so far, %(value)s ago") % {"value": fmt.duration(v)}
        counted = self._counted(feature, v, m)
        if counted is not None:
            return counted
        phrases: dict[str, tuple[str, Callable[[float], str]]] = {
            "recency_days": (_("last order %(value)s ago (typical: %(typical)s)"), fmt.duration),
            "total_spent": (_("spent %(value)s in total (typical: %(typical)s)"), self._money),
            "average_order_value": (
                _("orders average %(value)s (typical: %(typical)s)"),
                self._money,
            ),
            "tenure_days": (_("customer for %(value)s (typical: %(typical)s)"), fmt.duration),
            "interpurchase_days": (
                _("usually orders every %(value)s (typical: every %(typical)s)"),
                fmt.duration,
            ),
            "overdue_ratio": (
                _("%(value)s× their usual gap since the last order (typical: %(typical)s×)"),
                lambda x: fmt.number(x, 1),
            ),
            "spent_90d": (
                _("spent %(value)s in the last 90 days (typical: %(typical)s)"),
                self._money,
            ),
            "p_alive": (
                _("BG/NBD probability of still being a customer %(value)s (typical: %(typical)s)"),
                lambda x: fmt.percent(x, 0),
            ),
            "csat": (
                _("average CSAT %(value)s (typical: %(typical)s)"),
                lambda x: fmt.number(x, 1),
            ),
            "nps": (_("NPS answer %(value)s (typical: %(typical)s)"), fmt.number),
            "feedback_sentiment": (
                _("what they wrote lately reads negative: %(value)s (typical: %(typical)s)"),
                lambda x: fmt.number(x, 2),
            ),
            "price": (_("price %(value)s (typical: %(typical)s)"), lambda x: fmt.number(x, 2)),
        }
        template, show = phrases[feature]
        return template % {"value": show(v), "typical": show(m)}

    def _counted(self, feature: str, v: float, m: float) -> str | None:
        n, figures = round(v), {"num": self.fmt.number(v), "typical": self.fmt.number(m)}
        if feature == "orders":
            template = self.ngettext(
                "%(num)s order so far (typical: %(typical)s)",
                "%(num)s orders so far (typical: %(typical)s)",
                n,
            )
        elif feature == "orders_90d":
            template = self.ngettext(
                "%(num)s order in the last 90 days (typical: %(typical)s)",
                "%(num)s orders in the last 90 days (typical: %(typical)s)",
                n,
            )
        elif feature == "orders_prev_90d":
            template = self.ngettext(
                "%(num)s order in the 90 days before that (typical: %(typical)s)",
                "%(num)s orders in the 90 days before that (typical: %(typical)s)",
                n,
            )
        elif feature == "tickets":
            template = self.ngettext(
                "%(num)s support ticket (typical: %(typical)s)",
                "%(num)s support tickets (typical: %(typical)s)",
                n,
            )
        else:
            return None
        return template % figures

    def _rfm(self, text: str) -> str:
        found = RFM_TEXT.fullmatch(text)
        if found is None:
            return text
        orders = int(found.group("orders"))
        spent = float(found.group("spent").replace(",", ""))
        return self._("RFM %(code)s: last order %(ago)s ago, %(orders)s, spent %(spent)s") % {
            "code": found.group("code"),
            "ago": self.fmt.duration(float(found.group("days"))),
            "orders": self.ngettext("%(num)s order", "%(num)s orders", orders)
            % {"num": self.fmt.number(orders)},
            "spent": self._money(spent),
        }

    def cluster(self, description: str) -> str:
        """A cluster's description, phrase by phrase; a phrase it cannot read stays English."""
        phrases, position = [], 0
        while position < len(description):
            for template, pattern in _CLUSTER_PATTERNS:
                found = pattern.match(description, position)
                if found:
                    phrases.append(self._(template) % self._cluster_fields(found.groupdict()))
                    position = found.end()
                    break
            else:
                end = description.find(CLUSTER_SEPARATOR, position)
                end = len(description) if end < 0 else end
                phrases.append(description[position:end])
                position = end
            if description.startswith(CLUSTER_SEPARATOR, position):
                position += len(CLUSTER_SEPARATOR)
        return self.fmt.join(phrases)

    def _cluster_fields(self, fields: Mapping[str, str]) -> dict[str, str]:
        shown = dict(fields)
        if "ratio" in fields:
            shown["ratio"] = self.fmt.number(float(fields["ratio"]), 1)
        if "score" in fields:
            shown["score"] = self.fmt.number(float(fields["score"]), 1)
        if "share" in fields:
            shown["share"] = self.fmt.percent(float(fields["share"].rstrip("%")) / 100.0, 0)
        if "ago" in fields:
            days = _english_days(fields["ago"])
            shown["ago"] = (
                self.fmt.duration(days) if days is not None else self._("an unknown time")
            )
        return shown
