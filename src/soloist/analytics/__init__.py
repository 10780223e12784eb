"""Customer analytics: RFM summaries, CS metrics and "buy till you die" models.

A pure library (NumPy, SciPy, Polars, pandas; matplotlib only for plots) that imports nothing
else from soloist. See ``docs/models/`` for the formulas and the published numbers each model
reproduces.
"""

from __future__ import annotations

from .bg_nbd import BetaGeoModel, ModifiedBetaGeoModel
from .errors import AnalyticsError, NotFittedError
from .gamma_gamma import GammaGammaModel
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
from .pareto_nbd import ParetoNBDModel
from .plotting import plot_calibration_holdout, plot_cumulative_repeat_purchases
from .rfm import rfm_summary
from .sbg import ShiftedBetaGeometricModel
from .validation import calibration_holdout_table, cumulative_repeat_purchases

__all__ = [
    "DEFAULT_LOYALTY_WEIGHTS",
    "AnalyticsError",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "NotFittedError",
    "ParetoNBDModel",
    "ShiftedBetaGeometricModel",
    "average_order_value",
    "calibration_holdout_table",
    "ces",
    "churn_rate",
    "cohort_retention",
    "conversion_rate",
    "csat",
    "cumulative_repeat_purchases",
    "customer_loyalty_index",
    "discounted_clv",
    "discounted_clv_by_customer",
    "nps",
    "plot_calibration_holdout",
    "plot_cumulative_repeat_purchases",
    "purchase_frequency",
    "repeat_purchase_rate",
    "retention_rate",
    "rfm_summary",
]

# --- segmentation and prediction (issue 5) ---------------------------------------------------
from .churn import ChurnResult, score_churn
from .churn_models import classification_quality, cross_validate_classifiers
from .clustering import ClusteringResult, cluster_customers
from .customer_features import transaction_features
from .drivers import satisfaction_drivers
from .next_purchase import compare_clv_models, days_to_next_purchase
from .segmentation import (
    RFM_SEGMENTS,
    rfm_scores,
    rfm_segment,
    rfm_table,
    segment_summary,
    segment_transitions,
)
from .subscription_churn import score_subscription_churn
from .survival import fit_sbg_censored, kaplan_meier

__all__ += [
    "RFM_SEGMENTS",
    "ChurnResult",
    "ClusteringResult",
    "classification_quality",
    "cluster_customers",
    "compare_clv_models",
    "cross_validate_classifiers",
    "days_to_next_purchase",
    "fit_sbg_censored",
    "kaplan_meier",
    "rfm_scores",
    "rfm_segment",
    "rfm_table",
    "satisfaction_drivers",
    "score_churn",
    "score_subscription_churn",
    "segment_summary",
    "segment_transitions",
    "transaction_features",
]
