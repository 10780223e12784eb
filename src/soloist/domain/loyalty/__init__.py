"""The loyalty programme: enrolment, points earned and redeemed on an append-only ledger, tiers,
rewards and coupons, referrals, the programme's rules and its measured effect.

The interfaces import from here, never from the modules: ``programme`` (enrol, bonus, redeem,
expire, adjust), ``order_points`` (what orders earn and give back), ``ledger`` (entries,
balances, FIFO lots), ``redemptions``, ``rewards``, ``tiers``, ``referrals``, ``rules`` (the
programme settings), ``summary`` (a member's standing), ``report`` and ``daily`` (the daily
jobs as the worker runs them, a batch of members per transaction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.loyalty.daily import (
        DailyLoyaltyReport,
        expire_points_in_turn,
        review_tiers_in_turn,
        run_daily_loyalty,
    )
    from soloist.domain.loyalty.ledger import (
        MEMBER,
        NotEnrolledError,
        ledger_entries,
        open_lots,
        points_balance,
    )
    from soloist.domain.loyalty.order_points import (
        SyncResult,
        earn_for_order,
        reverse_order_points,
        settle_order_points,
        sync_order_points,
    )
    from soloist.domain.loyalty.programme import (
        Adjustment,
        EnrolmentResult,
        ExpiryResult,
        IdempotencyKeyReusedError,
        adjust_points,
        award_birthday_bonuses,
        enrol_customers,
        enrol_new_customer,
        expire_points,
        in_holdout,
        redeem_points,
    )
    from soloist.domain.loyalty.redemptions import RedemptionOutcome
    from soloist.domain.loyalty.referrals import (
        ReferralRejectedError,
        list_referrals,
        record_referral,
    )
    from soloist.domain.loyalty.report import (
        Effect,
        LoyaltyReport,
        current_loyalty_report,
        loyalty_report,
        member_counts_by_tier,
    )
    from soloist.domain.loyalty.rewards import (
        CouponCreate,
        CouponRefusedError,
        RewardCreate,
        coupon_of_use,
        create_coupon,
        create_reward,
        list_rewards,
        offers_for_customer,
        use_coupon,
    )
    from soloist.domain.loyalty.rules import get_programme_settings, update_programme_settings
    from soloist.domain.loyalty.summary import LoyaltySummary, ledger_history, loyalty_summary
    from soloist.domain.loyalty.tiers import list_tiers, review_tier, review_tiers

_MODULE_OF = {
    "Adjustment": "programme",
    "DailyLoyaltyReport": "daily",
    "expire_points_in_turn": "daily",
    "review_tiers_in_turn": "daily",
    "run_daily_loyalty": "daily",
    "Effect": "report",
    "EnrolmentResult": "programme",
    "ExpiryResult": "programme",
    "LoyaltyReport": "report",
    "LoyaltySummary": "summary",
    "RedemptionOutcome": "redemptions",
    "SyncResult": "order_points",
    "member_counts_by_tier": "report",
    "coupon_of_use": "rewards",
    "CouponCreate": "rewards",
    "CouponRefusedError": "rewards",
    "IdempotencyKeyReusedError": "programme",
    "MEMBER": "ledger",
    "NotEnrolledError": "ledger",
    "ReferralRejectedError": "referrals",
    "RewardCreate": "rewards",
    "adjust_points": "programme",
    "award_birthday_bonuses": "programme",
    "create_coupon": "rewards",
    "create_reward": "rewards",
    "earn_for_order": "order_points",
    "enrol_customers": "programme",
    "enrol_new_customer": "programme",
    "expire_points": "programme",
    "get_programme_settings": "rules",
    "in_holdout": "programme",
    "ledger_entries": "ledger",
    "ledger_history": "summary",
    "list_referrals": "referrals",
    "list_rewards": "rewards",
    "list_tiers": "tiers",
    "current_loyalty_report": "report",
    "loyalty_report": "report",
    "loyalty_summary": "summary",
    "offers_for_customer": "rewards",
    "open_lots": "ledger",
    "points_balance": "ledger",
    "record_referral": "referrals",
    "redeem_points": "programme",
    "reverse_order_points": "order_points",
    "review_tier": "tiers",
    "review_tiers": "tiers",
    "settle_order_points": "order_points",
    "sync_order_points": "order_points",
    "update_programme_settings": "rules",
    "use_coupon": "rewards",
}
__all__ = [
    "MEMBER",
    "Adjustment",
    "CouponCreate",
    "CouponRefusedError",
    "DailyLoyaltyReport",
    "Effect",
    "EnrolmentResult",
    "ExpiryResult",
    "IdempotencyKeyReusedError",
    "LoyaltyReport",
    "LoyaltySummary",
    "NotEnrolledError",
    "RedemptionOutcome",
    "ReferralRejectedError",
    "RewardCreate",
    "SyncResult",
    "adjust_points",
    "award_birthday_bonuses",
    "coupon_of_use",
    "create_coupon",
    "create_reward",
    "current_loyalty_report",
    "earn_for_order",
    "enrol_customers",
    "enrol_new_customer",
    "expire_points",
    "expire_points_in_turn",
    "get_programme_settings",
    "in_holdout",
    "ledger_entries",
    "ledger_history",
    "list_referrals",
    "list_rewards",
    "list_tiers",
    "loyalty_report",
    "loyalty_summary",
    "member_counts_by_tier",
    "offers_for_customer",
    "open_lots",
    "points_balance",
    "record_referral",
    "redeem_points",
    "reverse_order_points",
    "review_tier",
    "review_tiers",
    "review_tiers_in_turn",
    "run_daily_loyalty",
    "settle_order_points",
    "sync_order_points",
    "update_programme_settings",
    "use_coupon",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
