"""Reasons, cluster descriptions, segment names and errors worded in the page's language."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from soloist.analytics.clustering_words import PHRASES, SEPARATOR, describe_clusters
from soloist.analytics.customer_features import describe_reason
from soloist.domain.scoring.reasons import Reason
from soloist.web.i18n import Formatter, Translator
from soloist.web.reasons import CLUSTER_PHRASES, CLUSTER_SEPARATOR, REASON_FEATURES
from soloist.web.wording import Wording

ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
CODES = {"CSAT", "NPS", "RFM", "BG", "NBD"}  # names of measures, the same in every language


def words(locale: str) -> Wording:
    return Wording(Translator(locale), Formatter(locale), "USD")


def english_words(text: str, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return [w for w in ENGLISH_WORD.findall(text) if w not in CODES | allowed]


# A value and a typical value of every feature the page words from figures.
FIGURES = {
    "recency_days": (75.0, 30.0),
    "orders": (3.0, 2.0),
    "total_spent": (1234.5, 300.0),
    "average_order_value": (41.2, 30.0),
    "tenure_days": (400.0, 236.0),
    "interpurchase_days": (21.0, 45.0),
    "overdue_ratio": (2.5, 1.0),
    "orders_90d": (1.0, 0.0),
    "orders_prev_90d": (4.0, 1.0),
    "spent_90d": (99.0, 20.0),
    "p_alive": (0.42, 0.8),
    "csat": (3.5, 4.2),
    "nps": (6.0, 9.0),
    "tickets": (2.0, 0.0),
    "feedback_sentiment": (-0.45, 0.3),
    "price": (19.9, 12.0),
    "subscription_risk": (0.35, None),
    "expected_remaining_periods": (4.2, None),
    "renewals": (1.0, None),
}


def test_every_worded_feature_has_figures_here() -> None:
    assert set(FIGURES) == REASON_FEATURES


@pytest.mark.parametrize("feature", sorted(FIGURES))
def test_a_reason_is_worded_from_its_figures_in_both_languages(feature: str) -> None:
    value, typical = FIGURES[feature]
    text = "THE ENGLISH TEXT"
    reason = Reason(feature=feature, text=text, value=value, typical=typical)
    english, chinese = words("en").reason(reason), words("zh_Hans").reason(reason)
    assert text not in english
    assert text not in chinese
    assert english_words(chinese) == []
    assert english_words(english)


def test_english_reasons_read_like_the_analytics_words() -> None:
    say = words("en")
    recency = Reason("recency_days", "", value=75.0, typical=30.0)
    assert say.reason(recency) == "last order 2 months ago (typical: 1 month)"
    one = Reason("orders", "", value=1.0, typical=2.0)
    assert say.reason(one) == "1 order so far (typical: 2)"
    spent = Reason("total_spent", "", value=1234.5, typical=300.0)
    assert say.reason(spent) == "spent $1,234.50 in total (typical: $300.00)"
    assert say.reason(Reason("renewals", "", value=3.0)) == "3 renewals so far"


def test_chinese_reasons_use_chinese_numbers_durations_and_money() -> None:
    say = words("zh_Hans")
    recency = Reason("recency_days", "", value=75.0, typical=30.0)
    assert say.reason(recency) == "最近一次下单在2个月前（一般为1个月）"
    risk = Reason("subscription_risk", "", value=0.35)
    assert say.reason(risk) == "在预测期内取消订阅的风险为 35%"


def test_a_one_order_customers_gap_is_worded_as_the_time_since_that_order() -> None:
    text = describe_reason("interpurchase_days", 40.0, 20.0, {"orders": 1.0})
    reason = Reason("interpurchase_days", text, value=40.0, typical=20.0)
    assert words("en").reason(reason) == "only one order so far, 1 month ago"
    assert words("zh_Hans").reason(reason) == "目前只有一笔订单，下单于1个月前"


def test_a_subscription_plan_is_worded_by_its_column() -> None:
    monthly = Reason("billing_interval=month", "billing interval=month: yes", value=1.0)
    assert words("en").reason(monthly) == "billing interval is month"
    assert words("zh_Hans").reason(Reason("plan=basic", "", value=0.0)) == "套餐不是 basic"


def test_a_reason_the_page_cannot_word_keeps_its_english_text() -> None:
    unknown = Reason("loyalty_tier_rank", "loyalty tier rank 2 (higher than the typical 1)", 1.0)
    assert words("zh_Hans").reason(unknown) == unknown.text
    legacy = Reason("p_alive", "bought 3 times in 3 days")  # stored before 0.2: text only
    assert words("zh_Hans").reason(legacy) == legacy.text


def test_the_rfm_reason_is_worded_from_its_english_text() -> None:
    """As soloist.domain.scoring.segments writes it (test_every_page.py reads real ones)."""
    reason = Reason("rfm", "RFM 525: last order 3 days ago, 1 orders, spent 1,234.00")
    assert words("en").reason(reason) == "RFM 525: last order 3 days ago, 1 order, spent $1,234.00"
    chinese = words("zh_Hans").reason(reason)
    assert chinese == "RFM 525：最近一次下单在3天前，1 笔订单，消费 US$1,234.00"


def test_the_page_knows_every_phrase_a_cluster_description_is_made_of() -> None:
    assert sorted(CLUSTER_PHRASES) == sorted(PHRASES.values())
    assert CLUSTER_SEPARATOR == SEPARATOR


SAMPLE_FIELDS = {
    "ratio": "1.8",
    "score": "4.5",
    "ago": "3 months",
    "category": "Coffee beans",
    "feature": "basket size",
    "share": "72%",
}
DATA_WORDS = {"Coffee", "beans", "basket", "size"}


@pytest.mark.parametrize("key", sorted(PHRASES))
def test_every_cluster_phrase_is_translated(key: str) -> None:
    english = PHRASES[key] % SAMPLE_FIELDS if "%(" in PHRASES[key] else PHRASES[key]
    chinese = words("zh_Hans").cluster(english)
    assert english_words(chinese, DATA_WORDS) == [], chinese


def _behaviour(rng: np.random.Generator, n: int, spend: float, gap: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "total_spent": rng.normal(spend, spend / 10, n),
            "orders": rng.integers(1, 12, n).astype(float),
            "recency_days": rng.normal(gap, 3, n).clip(0),
            "tenure_days": rng.normal(400, 30, n),
            "interpurchase_days": rng.normal(gap, 3, n).clip(1),
            "csat": rng.normal(4.6 if spend > 100 else 2.5, 0.2, n),
            "nps": rng.normal(9 if spend > 100 else 4, 0.5, n),
            "tickets": rng.poisson(0.1 if spend > 100 else 3, n).astype(float),
            "share_Coffee beans": rng.uniform(0.7, 1.0, n) if spend > 100 else np.zeros(n),
            "share_Tea": np.zeros(n) if spend > 100 else rng.uniform(0.7, 1.0, n),
            "basket_size": rng.normal(5 if spend > 100 else 1, 0.3, n),
        }
    )


def test_descriptions_of_real_clusters_are_read_back_whole() -> None:
    rng = np.random.default_rng(4)
    features = pd.concat(
        [_behaviour(rng, 80, 900, 20), _behaviour(rng, 80, 30, 300)], ignore_index=True
    )
    labels = pd.Series([0] * 80 + [1] * 79 + [-1])
    _, descriptions = describe_clusters(features, labels)
    assert len(descriptions) == 3
    for description in descriptions.values():
        chinese = words("zh_Hans").cluster(description)
        assert english_words(chinese, {"Coffee", "beans", "Tea", "basket", "size"}) == [], (
            description,
            chinese,
        )


def test_a_cluster_phrase_the_page_does_not_know_stays_english() -> None:
    chinese = words("zh_Hans").cluster("buy monthly, collects stamps, last seen 2 weeks ago")
    assert chinese == "每月购买、collects stamps和最近一次出现在2周前"


def test_segment_names_are_translated_but_a_rule_segment_keeps_its_name() -> None:
    chinese = words("zh_Hans")
    assert chinese.segment("champions") == "冠军客户"
    assert chinese.segment("new", "scored") == "新客户"
    assert chinese.segment("cluster 3", "cluster") == "聚类 3"
    assert chinese.segment("VIP", "rule") == "VIP"
    assert chinese.segment("champions", "rule") == "champions"
    assert words("en").segment("cluster 3") == "Cluster 3"


def test_timeline_statuses_and_priorities_are_labelled() -> None:
    chinese = words("zh_Hans")
    assert chinese.timeline_status("interaction", "email · inbound") == "电子邮件 · 来自客户"
    assert chinese.timeline_status("order", "refunded") == "已退款"
    assert chinese.timeline_status("ticket", "pending") == "等待客户回复"
    assert chinese.timeline_detail("ticket", "urgent") == "紧急"
    assert chinese.timeline_detail("review", "Lovely beans") == "Lovely beans"


def test_whoever_made_a_change_is_named_in_words() -> None:
    chinese = words("zh_Hans")
    assert chinese.actor("rule:earn") == "积分规则"
    assert chinese.actor("rule:tiers") == "等级复核"
    assert chinese.actor("system:demo") == "演示数据"
    assert chinese.actor(None, user_id=3) == "用户 3"
    assert words("en").actor("cli:ada") == "command line (ada)"
    assert words("en").actor("rule:winback") == "rule winback"


def _entry(kind: str, source_type: str | None, reason: str | None) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, source_type=source_type, reason=reason)


def test_what_the_programmes_rules_write_in_the_ledger_is_worded() -> None:
    chinese = words("zh_Hans")
    assert chinese.ledger_reason(_entry("earn", "order", "order LL-0001")) == "订单 LL-0001"
    expired = _entry("expire", "lot", "points from 2025-09-26 expired")
    assert chinese.ledger_reason(expired) == "2025年9月26日 获得的积分已过期"
    assert chinese.ledger_reason(_entry("bonus", "signup", "signup bonus")) == "注册奖励"
    referral = _entry("bonus", "referral", "referral bonus (referrer)")
    assert chinese.ledger_reason(referral) == "推荐奖励（推荐人）"
    redeemed = _entry("redeem", "reward", "reward Free tote bag")
    assert words("en").ledger_reason(redeemed) == "reward: Free tote bag"


def test_a_reason_a_person_wrote_in_the_ledger_is_shown_as_written() -> None:
    chinese = words("zh_Hans")
    assert chinese.ledger_reason(_entry("adjust", None, "goodwill after a late order")) == (
        "goodwill after a late order"
    )
    assert chinese.ledger_reason(_entry("bonus", "manual", "thanks for the photos")) == (
        "thanks for the photos"
    )
    assert chinese.ledger_reason(_entry("adjust", None, None)) == ""


def test_coupons_are_worded_with_the_locales_numbers() -> None:
    percent = SimpleNamespace(discount_percent=10, discount_minor=None)
    amount = SimpleNamespace(discount_percent=None, discount_minor=500)
    assert words("en").coupon(percent, "USD") == "10% off"
    assert words("en").coupon(amount, "USD") == "$5.00 off"
    assert words("zh_Hans").coupon(amount, "CNY") == "优惠 ¥5.00"


def test_an_error_is_worded_by_its_code_with_the_english_detail() -> None:
    detail = "No customer with id 9999."
    assert words("en").error("not_found", detail) == (detail, None)
    assert words("zh_Hans").error("not_found", detail) == ("没有这个页面或记录。", detail)
    assert words("zh_Hans").error("no_such_code", None) == ("出错了", None)


def test_the_web_apps_own_error_messages_are_translated_exactly() -> None:
    message = "The form has expired or did not come from this site; reload the page."
    said, detail = words("zh_Hans").error("csrf_failed", message)
    assert said == "表单已过期或并非来自本站；请刷新页面。"
    assert detail is None
