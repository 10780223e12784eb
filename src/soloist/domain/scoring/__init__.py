"""Model runs: fit the analytics to the workspace's data, store per-customer scores with their
reasons, and read the current ones back.

``clv`` (``soloist analyze``), ``churn`` (``soloist churn``), ``segments`` (``soloist segments``),
``refit`` (all three, the churn model beside the others) and ``scores`` (the current runs, one
customer's scores). The interfaces import from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.scoring.churn import score_churn_risk
    from soloist.domain.scoring.clv import (
        PURCHASE_MODELS,
        AnalyzeOptions,
        analyze_workspace,
        latest_run,
    )
    from soloist.domain.scoring.kept_scores import drop_old_scores
    from soloist.domain.scoring.reasons import FEEDBACK_FEATURE
    from soloist.domain.scoring.refit import Analyses, run_analyses
    from soloist.domain.scoring.scores import (
        CustomerScores,
        current_runs,
        get_model_run,
        list_model_runs,
        scores_of_customer,
    )
    from soloist.domain.scoring.segments import SEGMENT_METHODS, segment_customers
    from soloist.domain.scoring.shared_orders import paid_orders_shared

_MODULE_OF = {
    "Analyses": "refit",
    "AnalyzeOptions": "clv",
    "FEEDBACK_FEATURE": "reasons",
    "CustomerScores": "scores",
    "PURCHASE_MODELS": "clv",
    "SEGMENT_METHODS": "segments",
    "analyze_workspace": "clv",
    "current_runs": "scores",
    "drop_old_scores": "kept_scores",
    "get_model_run": "scores",
    "list_model_runs": "scores",
    "latest_run": "clv",
    "paid_orders_shared": "shared_orders",
    "run_analyses": "refit",
    "score_churn_risk": "churn",
    "scores_of_customer": "scores",
    "segment_customers": "segments",
}
__all__ = [
    "FEEDBACK_FEATURE",
    "PURCHASE_MODELS",
    "SEGMENT_METHODS",
    "Analyses",
    "AnalyzeOptions",
    "CustomerScores",
    "analyze_workspace",
    "current_runs",
    "drop_old_scores",
    "get_model_run",
    "latest_run",
    "list_model_runs",
    "paid_orders_shared",
    "run_analyses",
    "score_churn_risk",
    "scores_of_customer",
    "segment_customers",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
