"""Planning an A/B test: the checks on its design and the sample-size guide (how many
recipients each version needs for the lift worth finding, against what the segment gives)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.campaigns.audience import count_audience
from soloist.domain.campaigns.authoring import variants_of
from soloist.errors import ValidationError
from soloist.storage.models import TEST_METRICS, Campaign, CampaignExperiment

MAX_LOOKS = 20


def get_experiment(session: Session, campaign_id: int) -> CampaignExperiment | None:
    return session.scalar(
        select(CampaignExperiment).where(CampaignExperiment.campaign_id == campaign_id)
    )


def check_design(
    metric: str,
    baseline: float,
    lift: float,
    test_share: float,
    alpha: float,
    power: float,
    looks: int,
    decision_hours: int,
) -> None:
    if metric not in TEST_METRICS:
        raise ValidationError(f"metric must be one of {', '.join(TEST_METRICS)}.", field="metric")
    if not 0 < baseline < 1:
        raise ValidationError(
            "baseline_rate must be between 0 and 1 (5% is 0.05).", field="baseline_rate"
        )
    if lift <= 0 or baseline + lift >= 1:
        raise ValidationError(
            "minimum_lift is the absolute rise worth finding (5% → 6% is 0.01): above 0, and "
            "baseline_rate + minimum_lift below 1.",
            field="minimum_lift",
        )
    if not 0 < test_share <= 1:
        raise ValidationError("test_share must be above 0 and at most 1.", field="test_share")
    if not 0 < alpha < 0.5 or not 0.5 <= power < 1:
        raise ValidationError("alpha must be in (0, 0.5) and power in [0.5, 1).", field="alpha")
    if not 1 <= looks <= MAX_LOOKS:
        raise ValidationError(f"looks must be 1 to {MAX_LOOKS}.", field="looks")
    if not 1 <= decision_hours <= 24 * 60:
        raise ValidationError("decision_hours must be 1 to 1440.", field="decision_hours")


def sample_size_guide(
    *,
    baseline_rate: float,
    minimum_lift: float,
    reachable: int,
    variants: int = 2,
    test_share: float = 1.0,
    holdout_share: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    looks: int = 5,
) -> dict[str, Any]:
    """How many recipients each variant needs for the effect, how many it will get, and the
    power and smallest detectable lift at that size."""
    from soloist.analytics import experiment_power, sample_size_per_arm

    check_design("click", baseline_rate, minimum_lift, test_share, alpha, power, looks, 1)
    if not 0 <= holdout_share <= 0.5:
        raise ValidationError("holdout_share must be 0 to 0.5.", field="holdout_share")
    if reachable < 0:
        raise ValidationError("reachable cannot be negative.", field="reachable")
    level = alpha / max(1, variants - 1)
    needed = sample_size_per_arm(baseline_rate, minimum_lift, power=power, alpha=level, looks=looks)
    per_arm = int(reachable * (1 - holdout_share) * test_share) // max(1, variants)
    achieved = (
        experiment_power(baseline_rate, minimum_lift, per_arm, alpha=level, looks=looks)
        if per_arm >= 2
        else 0.0
    )
    detectable = _detectable_lift(baseline_rate, per_arm, level, power, looks)
    return {
        "baseline_rate": baseline_rate,
        "minimum_lift": minimum_lift,
        "alpha": alpha,
        "alpha_per_comparison": level,
        "power": power,
        "looks": looks,
        "variants": variants,
        "needed_per_variant": needed,
        "needed_total": needed * variants,
        "reachable": reachable,
        "per_variant": per_arm,
        "enough": per_arm >= needed,
        "power_at_size": round(float(achieved), 4),
        "detectable_lift": detectable,
    }


def _detectable_lift(
    baseline: float, per_arm: int, alpha: float, power: float, looks: int
) -> float | None:
    """The smallest absolute lift found with ``power`` at ``per_arm`` (None: none below 1).

    The size needed falls as 1/lift² (times a factor that changes slowly with the rates), so
    scaling the lift by √(needed / available) converges in a few steps."""
    from soloist.analytics import sample_size_per_arm

    if per_arm < 2:
        return None
    ceiling = 1 - baseline - 1e-6
    if sample_size_per_arm(baseline, ceiling, power=power, alpha=alpha, looks=looks) > per_arm:
        return None
    lift = min(0.05, ceiling)
    for _ in range(12):
        needed = sample_size_per_arm(baseline, lift, power=power, alpha=alpha, looks=looks)
        if abs(needed - per_arm) <= max(1, per_arm // 500):
            break
        lift = min(ceiling, lift * math.sqrt(needed / per_arm))
    return round(lift, 4)


def campaign_guide(session: Session, campaign: Campaign, currency: str) -> dict[str, Any] | None:
    """The sample-size guide for a campaign's planned test, with its segment's reach."""
    experiment = get_experiment(session, campaign.id)
    if experiment is None:
        return None
    reachable = count_audience(session, campaign, currency).get("reachable", 0)
    return sample_size_guide(
        baseline_rate=experiment.baseline_rate,
        minimum_lift=experiment.minimum_lift,
        reachable=reachable,
        variants=max(2, len(variants_of(session, campaign.id))),
        test_share=experiment.test_share,
        holdout_share=campaign.holdout_share,
        alpha=experiment.alpha,
        power=experiment.power,
        looks=experiment.looks,
    )
