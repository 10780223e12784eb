"""Customer analytics: RFM summaries, CS metrics and "buy till you die" models.

A pure library (NumPy, SciPy, Polars, pandas; matplotlib only for plots) that imports nothing
else from soloist. See ``docs/models/`` for the formulas and the published numbers each model
reproduces.

The names below load their module on first use (PEP 562), so importing one model does not
import scikit-learn, matplotlib and the rest: the command line starts in a fraction of a second.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bg_nbd import BetaGeoModel, ModifiedBetaGeoModel
    from .churn import ChurnResult, rescore_churn, score_churn
    from .churn_models import classification_quality, cross_validate_classifiers
    from .clustering import ClusteringResult, cluster_customers
    from .customer_features import transaction_features
    from .drivers import satisfaction_drivers
    from .errors import AnalyticsError, NotFittedError
    from .experiments import (
        ProportionComparison,
        VariantComparison,
        compare_proportions,
        compare_variants,
        experiment_power,
        sample_size_per_arm,
    )
    from .gamma_gamma import GammaGammaModel, discounted_purchase_value
    from .metrics import (
        DEFAULT_LOYALTY_WEIGHTS,
        average_order_value,
        ces,
        churn_rate,
        cohort_retention,
        conversion_rate,
        csat,
        customer_loyalty_index,
        discounted_clv,
        discounted_clv_by_customer,
        nps,
        purchase_frequency,
        repeat_purchase_rate,
        retention_rate,
    )
    from .next_purchase import compare_clv_models, days_to_next_purchase
    from .pareto_nbd import ParetoNBDModel
    from .plotting import plot_calibration_holdout, plot_cumulative_repeat_purchases
    from .recommend_implicit import ImplicitRecommender
    from .recommend_ratings import RatingRecommender
    from .rfm import rfm_summary
    from .sbg import ShiftedBetaGeometricModel
    from .segmentation import (
        RFM_SEGMENTS,
        rfm_scores,
        rfm_segment,
        rfm_table,
        segment_summary,
        segment_transitions,
    )
    from .send_time import SendTimeModel, next_send_time
    from .sequential import (
        SequentialLook,
        SequentialTest,
        sequential_boundaries,
        sequential_power,
    )
    from .subscription_churn import score_subscription_churn
    from .survival import fit_sbg_censored, kaplan_meier
    from .text_sentiment import (
        SentimentChoice,
        TrainedSentiment,
        choose_sentiment,
        sentiment,
        text_language,
        train_sentiment,
    )
    from .validation import calibration_holdout_table, cumulative_repeat_purchases

_MODULE_OF = {
    "AnalyticsError": "errors",
    "BetaGeoModel": "bg_nbd",
    "ChurnResult": "churn",
    "ClusteringResult": "clustering",
    "DEFAULT_LOYALTY_WEIGHTS": "metrics",
    "GammaGammaModel": "gamma_gamma",
    "discounted_purchase_value": "gamma_gamma",
    "ModifiedBetaGeoModel": "bg_nbd",
    "NotFittedError": "errors",
    "ParetoNBDModel": "pareto_nbd",
    "ImplicitRecommender": "recommend_implicit",
    "RatingRecommender": "recommend_ratings",
    "SentimentChoice": "text_sentiment",
    "TrainedSentiment": "text_sentiment",
    "choose_sentiment": "text_sentiment",
    "sentiment": "text_sentiment",
    "text_language": "text_sentiment",
    "train_sentiment": "text_sentiment",
    "ProportionComparison": "experiments",
    "RFM_SEGMENTS": "segmentation",
    "SendTimeModel": "send_time",
    "SequentialLook": "sequential",
    "SequentialTest": "sequential",
    "ShiftedBetaGeometricModel": "sbg",
    "VariantComparison": "experiments",
    "average_order_value": "metrics",
    "calibration_holdout_table": "validation",
    "ces": "metrics",
    "churn_rate": "metrics",
    "classification_quality": "churn_models",
    "cluster_customers": "clustering",
    "cohort_retention": "metrics",
    "compare_clv_models": "next_purchase",
    "compare_proportions": "experiments",
    "compare_variants": "experiments",
    "conversion_rate": "metrics",
    "cross_validate_classifiers": "churn_models",
    "csat": "metrics",
    "cumulative_repeat_purchases": "validation",
    "customer_loyalty_index": "metrics",
    "days_to_next_purchase": "next_purchase",
    "discounted_clv": "metrics",
    "discounted_clv_by_customer": "metrics",
    "experiment_power": "experiments",
    "fit_sbg_censored": "survival",
    "kaplan_meier": "survival",
    "next_send_time": "send_time",
    "nps": "metrics",
    "plot_calibration_holdout": "plotting",
    "plot_cumulative_repeat_purchases": "plotting",
    "purchase_frequency": "metrics",
    "repeat_purchase_rate": "metrics",
    "retention_rate": "metrics",
    "rfm_scores": "segmentation",
    "rfm_segment": "segmentation",
    "rfm_summary": "rfm",
    "rfm_table": "segmentation",
    "sample_size_per_arm": "experiments",
    "satisfaction_drivers": "drivers",
    "rescore_churn": "churn",
    "score_churn": "churn",
    "score_subscription_churn": "subscription_churn",
    "segment_summary": "segmentation",
    "segment_transitions": "segmentation",
    "sequential_boundaries": "sequential",
    "sequential_power": "sequential",
    "transaction_features": "customer_features",
}
__all__ = [
    "DEFAULT_LOYALTY_WEIGHTS",
    "RFM_SEGMENTS",
    "AnalyticsError",
    "BetaGeoModel",
    "ChurnResult",
    "ClusteringResult",
    "GammaGammaModel",
    "ImplicitRecommender",
    "ModifiedBetaGeoModel",
    "NotFittedError",
    "ParetoNBDModel",
    "ProportionComparison",
    "RatingRecommender",
    "SendTimeModel",
    "SentimentChoice",
    "SequentialLook",
    "SequentialTest",
    "ShiftedBetaGeometricModel",
    "TrainedSentiment",
    "VariantComparison",
    "average_order_value",
    "calibration_holdout_table",
    "ces",
    "choose_sentiment",
    "churn_rate",
    "classification_quality",
    "cluster_customers",
    "cohort_retention",
    "compare_clv_models",
    "compare_proportions",
    "compare_variants",
    "conversion_rate",
    "cross_validate_classifiers",
    "csat",
    "cumulative_repeat_purchases",
    "customer_loyalty_index",
    "days_to_next_purchase",
    "discounted_clv",
    "discounted_clv_by_customer",
    "discounted_purchase_value",
    "experiment_power",
    "fit_sbg_censored",
    "kaplan_meier",
    "next_send_time",
    "nps",
    "plot_calibration_holdout",
    "plot_cumulative_repeat_purchases",
    "purchase_frequency",
    "repeat_purchase_rate",
    "rescore_churn",
    "retention_rate",
    "rfm_scores",
    "rfm_segment",
    "rfm_summary",
    "rfm_table",
    "sample_size_per_arm",
    "satisfaction_drivers",
    "score_churn",
    "score_subscription_churn",
    "segment_summary",
    "segment_transitions",
    "sentiment",
    "sequential_boundaries",
    "sequential_power",
    "text_language",
    "train_sentiment",
    "transaction_features",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
