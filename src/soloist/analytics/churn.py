"""Churn risk of non-subscription customers from their purchase behaviour.

Definition: a customer has *churned* over a horizon of ``H`` days after a cutoff when they make
no purchase in ``[cutoff, cutoff + H)``. Features come only from purchases before the cutoff
(:func:`soloist.analytics.customer_features.transaction_features`, plus any extra per-customer
columns such as CSAT or ticket counts, plus the BG/NBD probability of being alive).

Time-split evaluation, with ``now`` the day after the last observed day:

* training rows: features at ``now − 2H``, outcome in ``[now − 2H, now − H)``;
* holdout rows: features at ``now − H``, outcome in ``[now − H, now)``;

logistic regression, random forest and histogram gradient boosting are trained on the training
rows and compared on the holdout with two BG/NBD baselines fitted on the purchases before the
holdout cutoff (Fader, Hardie & Lee 2005):

* ``bg_nbd_p_alive``: ``1 − P(alive)`` (their eq. 13). BG/NBD assumes that a customer without a
  repeat purchase is alive (P(alive) = 1), so this baseline ranks one-time buyers — most of the
  churners in a typical shop — as the *safest*; it is reported because it is the usual baseline;
* ``bg_nbd_no_purchase``: the model's own probability of no purchase in the next ``t = H`` days,
  ``1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^{r+x}`` — the same question the classifiers answer.

The best by holdout ROC AUC (the baselines included) is refitted on the holdout rows — the most
recent labelled data — and scores every customer at ``now``: the probability of no purchase in
the next ``H`` days.

Each candidate is fitted on its own: one that cannot be fitted is left out of the comparison and
named in ``failed`` with a one-line reason. BG/NBD is fitted at the three cutoffs (retried with
``penalizer_coef = 0.001`` when not identified); when it cannot be, the classifiers go on
without ``p_alive`` and both baselines fail with the reason. When the fit at the training cutoff
sees no churn (``P(alive)`` nearly constant), ``p_alive`` is not a feature either (see
:func:`_informative_p_alive`), and ``notes`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .bg_nbd import BetaGeoModel
from .churn_models import (
    CLASSIFIERS,
    classification_quality,
    explain_predictions,
    learning_sample,
    make_classifier,
    one_line,
    one_thread,
)
from .customer_features import prepare_transactions, to_timestamp, transaction_features
from .errors import AnalyticsError
from .next_purchase import days_to_next_purchase

__all__ = ["BASELINES", "ChurnResult", "churn_dataset", "p_alive_from_features", "score_churn"]

BASELINES = ("bg_nbd_p_alive", "bg_nbd_no_purchase")
#: P(alive) is a feature only when its standard deviation at the training cutoff is this or more
MIN_P_ALIVE_SPREAD = 0.01
#: transaction features the churn models read (``total_spent`` is left out: it is
#: ``orders × average_order_value``, and the collinear pair would make reasons contradict)
CHURN_FEATURES = (
    "recency_days",
    "orders",
    "average_order_value",
    "tenure_days",
    "interpurchase_days",
    "overdue_ratio",
    "orders_90d",
    "orders_prev_90d",
    "spent_90d",
)
FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]


@dataclass
class ChurnResult:
    """Scores at ``now`` and the holdout comparison behind them."""

    scores: pd.DataFrame  # index customer: churn_risk, p_alive, reasons
    chosen: str
    comparison: dict[str, dict[str, Any]]
    horizon_days: int
    cutoffs: dict[str, str]
    bg_nbd_params: dict[str, float] | None
    # The models that could not be fitted or scored, each with a one-line reason.
    failed: dict[str, str] = field(default_factory=dict)
    # The L2 penalty each BG/NBD fit needed to be identified, by cutoff (0: none).
    bg_nbd_penalizer: dict[str, float] = field(default_factory=dict)
    # What the run had to decide on the way, in plain words.
    notes: list[str] = field(default_factory=list)
    # The chosen scorer as JSON (see :func:`rescore_churn`); None for the tree ensembles and
    # when extra features were used, which cannot be rebuilt from a few numbers.
    scorer_state: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready: the chosen model, the cutoffs and every model's holdout quality."""
        return {
            "chosen": self.chosen,
            "horizon_days": self.horizon_days,
            "cutoffs": self.cutoffs,
            "bg_nbd_params": self.bg_nbd_params,
            "bg_nbd_penalizer": self.bg_nbd_penalizer,
            "notes": self.notes,
            "comparison": self.comparison,
            "failed": self.failed,
            "customers_scored": len(self.scores),
        }


MIN_CLASS = 5  # churners and stayers each window needs for a model to learn from
#: Customers a classifier learns from in each window, at most (a seeded random sample): the
#: fifteen features' effects are learnt as well from this many, and every customer is still
#: checked on the holdout and scored. Beyond it only the fits' time grows (a random forest on a
#: million customers takes minutes).
LEARN_FROM_AT_MOST = 100_000


def _base_rate_result(
    y_train: pd.Series,
    y_test: pd.Series,
    X_now: pd.DataFrame,
    horizon_days: int,
    cuts: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp],
    short: str,
) -> ChurnResult:
    """Everyone at the shop's churn rate of the training window: what the data support when
    one window has fewer than 5 churners or 5 stayers (a log of one-time buyers has no
    stayers), so no model can learn who stays. Its holdout figures are those of a constant:
    ROC AUC 0.5 and lift 1 by definition, the Brier score measured."""
    rate = float(y_train.mean())
    y = y_test.to_numpy(dtype=np.float64)
    base = float(y.mean()) if y.size else None
    quality: dict[str, Any] = {
        "customers": int(y.size),
        "base_rate": base,
        "roc_auc": 0.5,
        "pr_auc": base,
        "brier": float(np.mean((rate - y) ** 2)) if y.size else None,
        "top_decile_lift": 1.0,
        "calibration": [],
    }
    text = (
        f"too few customers stayed or left in the {short} window to tell who stays: everyone "
        f"is at the shop's rate, {rate:.0%} gone within {horizon_days} days"
    )
    reason = {"feature": "base_rate", "text": text, "value": round(rate, 4)}
    scores = pd.DataFrame(
        {
            "churn_risk": rate,
            "p_alive": np.nan,
            "next_purchase_days": np.nan,
            "reasons": [[reason] for _ in range(len(X_now))],
        },
        index=X_now.index,
    )
    train_cut, test_cut, now = cuts
    return ChurnResult(
        scores=scores,
        chosen="base_rate",
        comparison={"base_rate": quality},
        horizon_days=int(horizon_days),
        cutoffs={
            "training": str(train_cut.date()),
            "holdout": str(test_cut.date()),
            "scored_at": str(now.date()),
        },
        bg_nbd_params=None,
        notes=[text],
    )


def _fit_bgnbd(features: pd.DataFrame) -> BetaGeoModel:
    frequency = features["orders"].to_numpy() - 1.0
    T = features["tenure_days"].to_numpy()
    recency = np.where(frequency > 0, T - features["recency_days"].to_numpy(), 0.0)
    model = BetaGeoModel()
    try:
        model.fit(frequency, recency, T)
    except AnalyticsError:
        model = BetaGeoModel(penalizer_coef=0.001)
        model.fit(frequency, recency, T)
    return model


def _try_bgnbd(
    fits: dict[str, pd.DataFrame],
) -> tuple[dict[str, BetaGeoModel] | None, str | None]:
    """BG/NBD fitted on each named feature table, or None and why when one cannot be."""
    fitted: dict[str, BetaGeoModel] = {}
    for when, features in fits.items():
        try:
            fitted[when] = _fit_bgnbd(features)
        except AnalyticsError as exc:
            return None, f"BG/NBD cannot be fitted at the {when} cutoff: {one_line(exc)}"
    return fitted, None


def _btyd_columns(X: FloatMatrix, columns: list[str]) -> tuple[FloatMatrix, ...]:
    """BTYD ``frequency``, ``recency``, ``T`` (days) from the transaction features.

    Derived from ``orders``, ``recency_days`` and ``tenure_days``; with day-level purchases
    these are exactly the values of :func:`soloist.analytics.rfm_summary`.
    """
    idx = {c: i for i, c in enumerate(columns)}
    T = np.maximum(X[:, idx["tenure_days"]], 0.0)
    frequency = np.maximum(np.round(X[:, idx["orders"]]) - 1.0, 0.0)
    recency = np.where(frequency == 0, 0.0, np.clip(T - X[:, idx["recency_days"]], 0.0, T))
    return frequency, recency, T


def p_alive_from_features(model: BetaGeoModel, X: FloatMatrix, columns: list[str]) -> FloatMatrix:
    """BG/NBD P(alive) from the ``orders``, ``recency_days`` and ``tenure_days`` columns."""
    frequency, recency, T = _btyd_columns(X, columns)
    return np.asarray(model.probability_alive(frequency, recency, T), dtype=np.float64)


def p_no_purchase_from_features(
    model: BetaGeoModel, X: FloatMatrix, columns: list[str], days: float
) -> FloatMatrix:
    """BG/NBD probability of no purchase in the next ``days``.

    ``P = 1 − pA + pA · ((α+T)/(α+T+t))^{r+x}`` with ``pA`` = P(alive).
    """
    frequency, recency, T = _btyd_columns(X, columns)
    alive = np.asarray(model.probability_alive(frequency, recency, T), dtype=np.float64)
    r, alpha = model.params_["r"], model.params_["alpha"]
    quiet = np.exp((r + frequency) * (np.log(alpha + T) - np.log(alpha + T + days)))
    return np.asarray(1.0 - alive + alive * quiet, dtype=np.float64)


def churn_dataset(
    tx: pd.DataFrame,
    cutoff: pd.Timestamp,
    horizon_days: int,
    extra: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Features before ``cutoff`` and the label "no purchase in ``[cutoff, cutoff + H)``"."""
    X = transaction_features(tx, cutoff, prepared=True).loc[:, list(CHURN_FEATURES)]
    if extra is not None:
        X = X.join(extra, how="left")
    end = cutoff + pd.Timedelta(days=horizon_days)
    window = tx[(tx["date"] >= cutoff) & (tx["date"] < end)]
    bought = X.index.isin(window["customer"].unique())
    return X, pd.Series((~bought).astype(np.int64), index=X.index, name="churned")


class _Scorer:
    """One candidate: a fitted classifier or the BG/NBD baseline, with the columns it reads."""

    def __init__(
        self, name: str, columns: list[str], medians: FloatMatrix, seed: int, horizon: int
    ) -> None:
        self.name, self.columns, self.medians, self.seed = name, columns, medians, seed
        self.horizon = horizon
        self.model: Any = None
        self.bgnbd: BetaGeoModel | None = None

    def matrix(self, X: pd.DataFrame, bgnbd: BetaGeoModel | None) -> FloatMatrix:
        base = X.reindex(columns=[c for c in self.columns if c != "p_alive"]).to_numpy(
            dtype=np.float64
        )
        base = np.where(np.isnan(base), self.medians[: base.shape[1]], base)
        if "p_alive" not in self.columns:
            return base
        feature_cols = [c for c in self.columns if c != "p_alive"]
        assert bgnbd is not None, "p_alive needs a BG/NBD fit"
        p = p_alive_from_features(bgnbd, base, feature_cols)
        return np.column_stack([base, p])

    def fit(self, X: pd.DataFrame, y: pd.Series, bgnbd: BetaGeoModel | None) -> _Scorer:
        self.bgnbd = bgnbd
        if self.name not in BASELINES:
            m = self.matrix(X, bgnbd)
            self.model = make_classifier(self.name, self.seed).fit(m, y.to_numpy())
        return self

    def predict(self, m: FloatMatrix) -> FloatMatrix:
        if self.name not in BASELINES:
            return np.asarray(self.model.predict_proba(m)[:, 1], dtype=np.float64)
        assert self.bgnbd is not None, "a BG/NBD baseline needs its fit"
        cols = [c for c in self.columns if c != "p_alive"]
        if self.name == "bg_nbd_p_alive":
            return 1.0 - p_alive_from_features(self.bgnbd, m[:, : len(cols)], cols)
        # bg_nbd_no_purchase
        return p_no_purchase_from_features(self.bgnbd, m[:, : len(cols)], cols, float(self.horizon))


REBUILDABLE = ("logistic", *BASELINES)


def _state_of(scorer: _Scorer, typical: FloatMatrix) -> dict[str, Any] | None:
    if scorer.name not in REBUILDABLE:
        return None
    state: dict[str, Any] = {
        "name": scorer.name,
        "columns": list(scorer.columns),
        "medians": [float(v) for v in scorer.medians],
        "typical": [float(v) for v in typical],
        "horizon_days": int(scorer.horizon),
        "bg_nbd": (
            None if scorer.bgnbd is None else {k: float(v) for k, v in scorer.bgnbd.params_.items()}
        ),
    }
    if scorer.name == "logistic":
        scale, model = scorer.model["scale"], scorer.model["model"]
        state["logistic"] = {
            "mean": scale.mean_.tolist(),
            "scale": scale.scale_.tolist(),
            "var": scale.var_.tolist(),
            "coef": model.coef_.tolist(),
            "intercept": model.intercept_.tolist(),
        }
    return state


def _scorer_from(state: dict[str, Any]) -> tuple[_Scorer, FloatMatrix]:
    name, columns = str(state["name"]), list(state["columns"])
    scorer = _Scorer(name, columns, np.asarray(state["medians"], dtype=np.float64), 0,
                     int(state["horizon_days"]))  # fmt: skip
    if state.get("bg_nbd") is not None:
        scorer.bgnbd = BetaGeoModel()
        scorer.bgnbd.params_ = {k: float(v) for k, v in state["bg_nbd"].items()}
    if name == "logistic":
        fitted = state["logistic"]
        width = len(fitted["mean"])
        pipe = make_classifier("logistic")
        pipe["log"].fit(np.zeros((1, width)))
        scale = pipe["scale"]
        scale.mean_ = np.asarray(fitted["mean"], dtype=np.float64)
        scale.scale_ = np.asarray(fitted["scale"], dtype=np.float64)
        scale.var_ = np.asarray(fitted["var"], dtype=np.float64)
        scale.n_features_in_, scale.n_samples_seen_ = width, 1
        model = pipe["model"]
        model.coef_ = np.asarray(fitted["coef"], dtype=np.float64)
        model.intercept_ = np.asarray(fitted["intercept"], dtype=np.float64)
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = width
        scorer.model = pipe
    return scorer, np.asarray(state["typical"], dtype=np.float64)


def rescore_churn(
    state: dict[str, Any],
    transactions: pd.DataFrame,
    observation_end: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    top_reasons: int = 3,
) -> pd.DataFrame:
    """Score customers again with a stored scorer (``ChurnResult.scorer_state``), no refit.

    For the customers in ``transactions`` (all their purchases), as of ``observation_end``:
    the same ``churn_risk``, ``p_alive``, ``next_purchase_days`` and ``reasons`` that
    :func:`score_churn` gives them with the same data and end — the features are each
    customer's own, and the scorer, its BG/NBD fit and the typical values come from the state.
    """
    scorer, typical = _scorer_from(state)
    tx = prepare_transactions(transactions, customer_col, date_col, amount_col)
    now = to_timestamp(observation_end, "observation_end").floor("D") + pd.Timedelta(days=1)
    tx = tx[tx["date"] < now]
    X_now = transaction_features(tx, now, prepared=True).loc[:, list(CHURN_FEATURES)]
    m_now = scorer.matrix(X_now, scorer.bgnbd)
    risk = scorer.predict(m_now)
    reasons = explain_predictions(
        scorer.model if scorer.name == "logistic" else None,
        scorer.name,
        m_now,
        scorer.columns,
        typical,
        predict=scorer.predict if scorer.name != "logistic" else None,
        top=top_reasons,
    )
    return pd.DataFrame(
        {"churn_risk": risk,
         "p_alive": _p_alive_now(scorer.bgnbd, X_now),
         "next_purchase_days": _next_purchase(scorer.bgnbd, X_now), "reasons": reasons},
        index=X_now.index,
    )  # fmt: skip


@one_thread
def score_churn(
    transactions: pd.DataFrame,
    observation_end: Any,
    *,
    horizon_days: int = 90,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    extra_features: pd.DataFrame | None = None,
    models: tuple[str, ...] = CLASSIFIERS,
    random_state: int = 0,
    top_reasons: int = 3,
) -> ChurnResult:
    """Compare churn models on a time-split holdout and score every customer with the best.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase (or purchase line): customer, date, amount.
    observation_end : date-like
        The last day of data; scores are for the ``horizon_days`` after it.
    extra_features : DataFrame, optional
        More per-customer numeric columns indexed by customer (CSAT, tickets …). They must
        describe the customer *before* the earliest cutoff to avoid leaking the outcome.

    Returns
    -------
    ChurnResult
        ``scores`` with ``churn_risk``, ``p_alive`` (BG/NBD at ``now``), ``next_purchase_days``
        (median days to the next purchase if still active, see
        :func:`soloist.analytics.next_purchase.days_to_next_purchase`) and ``reasons``.
    """
    if int(horizon_days) != horizon_days or horizon_days < 7:
        raise AnalyticsError(f"horizon_days must be a whole number >= 7, got {horizon_days!r}")
    tx = prepare_transactions(transactions, customer_col, date_col, amount_col)
    now = to_timestamp(observation_end, "observation_end").floor("D") + pd.Timedelta(days=1)
    tx = tx[tx["date"] < now]
    test_cut = now - pd.Timedelta(days=horizon_days)
    train_cut = test_cut - pd.Timedelta(days=horizon_days)
    if tx.empty or tx["date"].min() >= train_cut:
        raise AnalyticsError(
            f"churn over {horizon_days} days needs purchases from before {train_cut.date()} "
            f"(two horizons before the end of the data)"
        )
    X_train, y_train = churn_dataset(tx, train_cut, horizon_days, extra_features)
    X_test, y_test = churn_dataset(tx, test_cut, horizon_days, extra_features)
    X_now = transaction_features(tx, now, prepared=True).loc[:, list(CHURN_FEATURES)]
    for label, y in (("training", y_train), ("holdout", y_test)):
        if y.nunique() < 2 or min(y.sum(), (1 - y).sum()) < MIN_CLASS:
            if len(y_train) < MIN_CLASS:
                raise AnalyticsError(
                    f"the {label} window needs at least {MIN_CLASS} churners and {MIN_CLASS} "
                    "stayers to learn from"
                )
            return _base_rate_result(
                y_train, y_test, X_now, horizon_days, (train_cut, test_cut, now), label
            )
    if extra_features is not None:
        X_now = X_now.join(extra_features, how="left")
    failed: dict[str, str] = {}
    # BG/NBD gives the classifiers their p_alive column and is two of the candidates; when the
    # data do not identify it, the classifiers go on without p_alive and the baselines fail.
    bg, bg_failure = _try_bgnbd({"training": X_train, "holdout": X_test, "scoring": X_now})
    notes: list[str] = []
    with_p_alive = bg is not None and _informative_p_alive(bg["training"], X_train, notes)
    columns = [*X_train.columns, *(["p_alive"] if with_p_alive else [])]
    medians = np.nanmedian(X_train.to_numpy(dtype=np.float64), axis=0)
    if with_p_alive:
        medians = np.append(medians, np.nan)
    medians = np.where(np.isnan(medians), 0.0, medians)
    comparison: dict[str, dict[str, Any]] = {}
    learn_from = learning_sample(X_train, y_train, LEARN_FROM_AT_MOST, random_state)
    for name in (*models, *BASELINES):
        if name in BASELINES and bg is None:
            failed[name] = str(bg_failure)
            continue
        bg_train, bg_test = (bg["training"], bg["holdout"]) if bg is not None else (None, None)
        try:
            scorer = _Scorer(name, columns, medians, random_state, horizon_days).fit(
                *learn_from, bg_train
            )
            # the holdout features (p_alive included) use the model fitted before the holdout
            comparison[name] = classification_quality(
                y_test.to_numpy(), scorer.predict(scorer.matrix(X_test, bg_test))
            )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            failed[name] = one_line(exc)
    if not comparison:
        raise AnalyticsError(
            "no churn model could be fitted: "
            + "; ".join(f"{name}: {why}" for name, why in failed.items())
        )
    ranked = sorted(comparison, key=lambda n: (-comparison[n]["roc_auc"], comparison[n]["brier"]))
    bg_test, bg_now = (bg["holdout"], bg["scoring"]) if bg is not None else (None, None)
    for chosen in ranked:
        try:
            final = _Scorer(chosen, columns, medians, random_state, horizon_days).fit(
                *learning_sample(X_test, y_test, LEARN_FROM_AT_MOST, random_state), bg_test
            )
            break
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            failed[chosen] = f"refit on the holdout rows failed: {one_line(exc)}"
    else:
        raise AnalyticsError("no churn model could be refitted: " + "; ".join(failed.values()))
    final.bgnbd = bg_now
    m_now = final.matrix(X_now, bg_now)
    risk = final.predict(m_now)
    typical = np.nanmedian(X_test.to_numpy(dtype=np.float64), axis=0)
    if "p_alive" in columns:
        typical = np.append(typical, float(np.median(m_now[:, -1])))
    typical = np.where(np.isnan(typical), 0.0, typical)
    reason_model = final.model if chosen not in BASELINES else None
    reasons = explain_predictions(
        reason_model,
        chosen,
        m_now,
        columns,
        typical,
        predict=final.predict if chosen != "logistic" else None,
        top=top_reasons,
    )
    scores = pd.DataFrame(
        {
            "churn_risk": risk,
            "p_alive": _p_alive_now(bg_now, X_now),
            "next_purchase_days": _next_purchase(bg_now, X_now),
            "reasons": reasons,
        },
        index=X_now.index,
    )
    return ChurnResult(
        scores=scores,
        chosen=chosen,
        comparison=comparison,
        horizon_days=int(horizon_days),
        cutoffs={
            "training": str(train_cut.date()),
            "holdout": str(test_cut.date()),
            "scored_at": str(now.date()),
        },
        bg_nbd_params=None if bg_now is None else {k: float(v) for k, v in bg_now.params_.items()},
        failed=failed,
        bg_nbd_penalizer={k: float(m.penalizer_coef) for k, m in (bg or {}).items()},
        notes=notes,
        scorer_state=_state_of(final, typical) if extra_features is None else None,
    )


def _informative_p_alive(model: BetaGeoModel, X: pd.DataFrame, notes: list[str]) -> bool:
    """Whether P(alive) at the training cutoff tells customers apart. A BG/NBD fit that sees no
    sign of churn there (dropout probability near 0) gives everyone P(alive) ≈ 1: a constant
    the classifiers cannot learn from, and that the holdout's own fit does not reproduce."""
    columns = list(X.columns)
    p = p_alive_from_features(model, X.to_numpy(dtype=np.float64), columns)
    if float(np.std(p)) >= MIN_P_ALIVE_SPREAD:
        return True
    notes.append(
        "P(alive) is left out of the classifiers' features: the BG/NBD fit at the training "
        f"cutoff sees no sign of churn (P(alive) {float(np.min(p)):.3f}–{float(np.max(p)):.3f})"
    )
    return False


def _p_alive_now(model: BetaGeoModel | None, X: pd.DataFrame) -> Any:
    if model is None:
        return np.nan
    return p_alive_from_features(model, X.to_numpy(dtype=np.float64), list(X.columns))


def _next_purchase(model: BetaGeoModel | None, X: pd.DataFrame) -> FloatMatrix:
    """Median days to the next purchase (NaN for everyone without a BG/NBD fit)."""
    if model is None:
        return np.full(len(X), np.nan)
    return np.asarray(
        days_to_next_purchase(model, X["orders"].to_numpy() - 1.0, X["tenure_days"].to_numpy()),
        dtype=np.float64,
    )
