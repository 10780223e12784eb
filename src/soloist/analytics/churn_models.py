"""Churn classifiers, their measured quality and per-customer reasons in plain words.

Quality of a probability score ``p`` against outcomes ``y`` (1 = churned):

* ROC AUC — probability that a random churner scores above a random stayer;
* PR AUC — average precision, the area under the precision–recall curve;
* Brier score — ``mean((p - y)²)``, lower is better; it also rewards calibration;
* calibration — observed churn rate against the mean score in ten score deciles;
* top-decile lift — churn rate among the 10 % highest scores divided by the base rate.

Reasons: for the logistic model the contribution of feature j to customer i's log-odds is
``β_j · (z_ij − z_j^typical)`` (coefficient × standardised distance from the median customer);
for the
other models it is ``p(x_i) − p(x_i with feature j set to its training median)``, the change in
predicted risk the customer's own value causes compared with a typical value. Both are exact for
their model, cheap (one extra prediction per feature) and easy to read; they do not share credit
between correlated features as SHAP values would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from ._math import available_cores
from .customer_features import describe_reason
from .errors import AnalyticsError

__all__ = [
    "CLASSIFIERS",
    "calibration_table",
    "classification_quality",
    "cross_validate_classifiers",
    "encode_frame",
    "explain_predictions",
    "make_classifier",
    "one_line",
]

CLASSIFIERS = ("logistic", "random_forest", "gradient_boosting")


F = TypeVar("F", bound=Callable[..., Any])


def one_thread(fn: F) -> F:
    """Decorator: run ``fn`` under :func:`single_threaded`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_threaded():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def single_threaded() -> Any:
    """Limit OpenMP/BLAS to one thread: these models fit many small problems, where thread
    start-up and busy-waiting cost more than they save (several times slower on a busy
    2-core machine); the random forest still uses every core through joblib."""
    return threadpool_limits(limits=1)


FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]


def _signed_log1p(x: FloatMatrix) -> FloatMatrix:
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)), dtype=np.float64)


def make_classifier(name: str, random_state: int = 0) -> Any:
    """A fresh, unfitted classifier by name (see :data:`CLASSIFIERS`)."""
    if name == "logistic":
        return Pipeline(
            [
                ("log", FunctionTransformer(_signed_log1p)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(C=1.0, max_iter=5000)),
            ]
        )
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=100, min_samples_leaf=20, max_features="sqrt", n_jobs=-1,
            random_state=random_state,
        )  # fmt: skip
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=300, max_leaf_nodes=15, l2_regularization=1.0,
            early_stopping=True, validation_fraction=0.15, n_iter_no_change=20,
            random_state=random_state,
        )  # fmt: skip
    raise AnalyticsError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")


def calibration_table(y: Any, p: Any, bins: int = 10) -> list[dict[str, float]]:
    """Mean score, observed rate and count in ``bins`` score quantile bins."""
    y_arr = np.asarray(y, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    edges = np.unique(np.quantile(p_arr, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, p_arr, side="right") - 1, 0, max(edges.size - 2, 0))
    rows = []
    for b in np.unique(which):
        mask = which == b
        rows.append(
            {
                "predicted": float(p_arr[mask].mean()),
                "observed": float(y_arr[mask].mean()),
                "customers": int(mask.sum()),
            }
        )
    return rows


def classification_quality(y: Any, p: Any) -> dict[str, Any]:
    """ROC AUC, PR AUC, Brier score, top-decile lift and calibration of scores ``p``."""
    y_arr = np.asarray(y, dtype=np.int64)
    p_arr = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    if y_arr.size != p_arr.size:
        raise AnalyticsError("outcomes and scores differ in length")
    if np.unique(y_arr).size < 2:
        raise AnalyticsError("quality needs both churners and stayers in the holdout")
    base = float(y_arr.mean())
    top = np.argsort(-p_arr, kind="stable")[: max(1, int(np.ceil(0.1 * y_arr.size)))]
    return {
        "customers": int(y_arr.size),
        "base_rate": base,
        "roc_auc": float(roc_auc_score(y_arr, p_arr)),
        "pr_auc": float(average_precision_score(y_arr, p_arr)),
        "brier": float(brier_score_loss(y_arr, p_arr)),
        "top_decile_lift": float(y_arr[top].mean() / base) if base > 0 else None,
        "calibration": calibration_table(y_arr, p_arr),
    }


def encode_frame(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Numeric columns as floats, text/categorical columns one-hot (``col=value``)."""
    parts = []
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            parts.append(series.astype(np.float64).rename(str(col)))
        else:
            dummies = pd.get_dummies(series.astype("string").fillna("(missing)"), dtype=np.float64)
            dummies.columns = [f"{col}={v}" for v in dummies.columns]
            parts.append(dummies)
    encoded = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    if columns is not None:
        encoded = encoded.reindex(columns=columns, fill_value=0.0)
    return encoded


def cross_validate_classifiers(
    X: pd.DataFrame,
    y: Any,
    models: tuple[str, ...] = CLASSIFIERS,
    folds: int = 5,
    random_state: int = 0,
    *,
    failed: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Stratified k-fold quality of each classifier.

    Per model: the mean and sd over the folds of ROC AUC, and the mean PR AUC and Brier score;
    from the out-of-fold scores of every row together, the top-decile lift, the base rate and
    the calibration table (as :func:`classification_quality` gives for a holdout).

    With ``failed`` (a dict), a model that cannot be fitted is left out and its one-line reason
    is put there under its name; without it the error is raised.
    """
    y_arr = np.asarray(y, dtype=np.int64)
    encoded = encode_frame(X)
    x = encoded.to_numpy(dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    results: dict[str, dict[str, Any]] = {}
    with single_threaded():
        for name in models:
            try:
                results[name] = _cross_validate_one(name, x, y_arr, splitter, random_state)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                if failed is None:
                    raise
                failed[name] = one_line(exc)
    return results


def learning_sample(
    X: pd.DataFrame, y: pd.Series, limit: int, seed: int
) -> tuple[pd.DataFrame, pd.Series]:
    """At most ``limit`` of the rows of ``X`` and ``y`` to learn from: a seeded random sample,
    in their order (all of them when there are no more). The customers are independent
    draws, so a model learns the same effects from the sample; beyond it only the fit's time
    grows."""
    if len(X) <= limit:
        return X, y
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(X), size=limit, replace=False))
    return X.iloc[picked], y.iloc[picked]


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An error's message on one line, cut at its first clause when long.

    ``"BetaGeoModel: the data do not identify the model — the likelihood is flat …"`` becomes
    ``"BetaGeoModel: the data do not identify the model"``.
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) <= limit:
        return text
    for mark in (" — ", "; ", ". "):
        head = text.split(mark)[0]
        if 20 <= len(head) <= limit:
            return head
    return text[: limit - 1] + "…"


def _cross_validate_one(
    name: str, x: FloatMatrix, y_arr: Any, splitter: StratifiedKFold, random_state: int
) -> dict[str, Any]:
    aucs, prs, briers = [], [], []
    oof = np.empty(y_arr.size, dtype=np.float64)
    for train, test in splitter.split(x, y_arr):
        medians = np.nan_to_num(np.nanmedian(x[train], axis=0))
        xtr = np.where(np.isnan(x[train]), medians, x[train])
        xte = np.where(np.isnan(x[test]), medians, x[test])
        model = make_classifier(name, random_state).fit(xtr, y_arr[train])
        p = model.predict_proba(xte)[:, 1]
        oof[test] = p
        aucs.append(roc_auc_score(y_arr[test], p))
        prs.append(average_precision_score(y_arr[test], p))
        briers.append(brier_score_loss(y_arr[test], p))
    pooled = classification_quality(y_arr, oof)
    return {
        "roc_auc": float(np.mean(aucs)),
        "roc_auc_sd": float(np.std(aucs)),
        "pr_auc": float(np.mean(prs)),
        "brier": float(np.mean(briers)),
        "top_decile_lift": pooled["top_decile_lift"],
        "customers": pooled["customers"],
        "base_rate": pooled["base_rate"],
        "calibration": pooled["calibration"],
    }


def explain_predictions(
    model: Any,
    name: str,
    X: FloatMatrix,
    columns: list[str],
    typical: FloatMatrix,
    *,
    predict: Callable[[FloatMatrix], FloatMatrix] | None = None,
    top: int = 3,
) -> list[list[dict[str, Any]]]:
    """The ``top`` strongest reasons behind each row's score, strongest first.

    Each reason is ``{"feature", "value", "typical", "effect", "text"}``; a positive effect
    raises the risk (log-odds for the logistic model, probability points otherwise).
    """
    if name == "logistic" and predict is None:
        z = model[:-1].transform(X)
        z_typical = model[:-1].transform(typical.reshape(1, -1))
        contributions = (z - z_typical) * model[-1].coef_[0]
    else:
        score = predict or (lambda m: np.asarray(model.predict_proba(m)[:, 1], dtype=np.float64))
        contributions = _swap_effects(score, X, typical)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
    reasons: list[list[dict[str, Any]]] = []
    orders_col = columns.index("orders") if "orders" in columns else None
    for i in range(X.shape[0]):
        context = {"orders": float(X[i, orders_col])} if orders_col is not None else {}
        row = []
        for j in order[i]:
            effect = float(contributions[i, j])
            if abs(effect) < 1e-9:
                continue
            row.append(
                {
                    "feature": columns[j],
                    "value": float(X[i, j]),
                    "typical": float(typical[j]),
                    "effect": round(effect, 4),
                    "text": describe_reason(columns[j], X[i, j], typical[j], context),
                }
            )
        reasons.append(row)
    return reasons


#: Rows at least this many: the reasons' predictions are made on two threads (the trees'
#: predictions release Python's lock; a million customers' took some 40 s on one).
THREADED_ROWS = 50_000


def _swap_effects(
    score: Callable[[FloatMatrix], FloatMatrix], X: FloatMatrix, typical: FloatMatrix
) -> FloatMatrix:
    """``score(X) − score(X with column j set to typical[j])`` for every row and column.

    Only rows whose value differs from the typical one can change: scores are worked out row
    by row, so a row with the typical value already contributes exactly 0 (most customers have
    no ticket, one order …: a third of the predictions saved). Large matrices are scored a
    column at a time on two threads, each limited to one OpenMP thread (two busy-waiting
    pools on two cores would slow each other down); the results are the same.
    """
    threads = 2 if X.shape[0] >= THREADED_ROWS and available_cores() > 1 else 1

    def scored(m: FloatMatrix) -> FloatMatrix:
        with single_threaded():
            return score(m)

    def swapped(j: int) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], FloatMatrix]:
        differs = X[:, j] != typical[j]
        if not differs.any():
            return differs, np.empty(0)
        rows = X[differs]
        rows[:, j] = typical[j]
        return differs, scored(rows)

    contributions = np.zeros_like(X)
    with ThreadPoolExecutor(threads, thread_name_prefix="soloist-reasons") as pool:
        base_future = pool.submit(scored, X)
        results = list(pool.map(swapped, range(X.shape[1])))
        base = base_future.result()
    for j, (differs, changed) in enumerate(results):
        if changed.size:
            contributions[differs, j] = base[differs] - changed
    return contributions
