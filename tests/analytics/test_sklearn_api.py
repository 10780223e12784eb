"""The estimators honour scikit-learn's estimator contract without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import KFold, ParameterGrid
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from sklearn.utils.validation import check_is_fitted

from soloist.analytics import (
    AnalyticsError,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)
from soloist.analytics.base import BaseEstimator

ESTIMATORS: list[type[BaseEstimator]] = [
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    GammaGammaModel,
    ShiftedBetaGeometricModel,
]
PURCHASE_MODELS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def _fitted(cls: type[BaseEstimator], cdnow: pd.DataFrame, repeat: pd.DataFrame) -> Any:
    """An instance of ``cls`` fitted on the data it models, with a non-default penalty."""
    model: Any = cls(penalizer_coef=0.001)
    if cls is GammaGammaModel:
        return model.fit(repeat["frequency"], repeat["monetary_value"])
    if cls is ShiftedBetaGeometricModel:
        return model.fit(REGULAR)
    return model.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def repeat_buyers(sample_holdout_summary: pd.DataFrame) -> pd.DataFrame:
    s = sample_holdout_summary
    return s[s["frequency"] > 0]


def test_every_estimator_subclass_is_covered() -> None:
    import soloist.analytics as analytics

    public = {
        getattr(analytics, name)
        for name in analytics.__all__
        if isinstance(getattr(analytics, name), type)
        and issubclass(getattr(analytics, name), BaseEstimator)
    }
    assert public == set(ESTIMATORS)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_estimators_survive_sklearn_clone(
    cls: type[BaseEstimator], cdnow_summary: pd.DataFrame, repeat_buyers: pd.DataFrame
) -> None:
    model = _fitted(cls, cdnow_summary, repeat_buyers)
    copy = clone(model)
    assert type(copy) is cls
    assert copy is not model
    assert copy.get_params() == model.get_params() == {"penalizer_coef": 0.001}
    assert not hasattr(copy, "params_")  # the copy is unfitted...
    assert hasattr(model, "params_")  # ...and the original untouched


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_params_and_set_params_round_trip(cls: type[BaseEstimator]) -> None:
    model = cls()
    assert model.get_params() == {"penalizer_coef": 0.0}
    assert model.set_params(penalizer_coef=0.5) is model
    assert model.penalizer_coef == 0.5
    other = cls().set_params(**model.get_params())
    assert other.get_params(deep=False) == model.get_params(deep=True) == {"penalizer_coef": 0.5}
    assert model.set_params() is model  # no arguments: nothing changes


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_set_params_rejects_unknown_names_with_a_value_error(cls: type[BaseEstimator]) -> None:
    with pytest.raises(AnalyticsError, match="invalid parameter 'alpha'") as info:
        cls().set_params(alpha=1.0)
    assert isinstance(info.value, ValueError)  # what scikit-learn's callers expect
    with pytest.raises(AnalyticsError, match="invalid parameter"):
        cls().set_params(penalty__x=1.0)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_scikit_learns_own_checks_of_the_parameter_api_pass(cls: type[BaseEstimator]) -> None:
    # the checks of sklearn.utils.estimator_checks that do not need fit(X, y)
    name = cls.__name__
    check_parameters_default_constructible(name, cls())
    check_no_attributes_set_in_init(name, cls())
    check_get_params_invariance(name, cls())
    check_set_params(name, cls())
    assert get_tags(cls()).requires_fit


def test_check_is_fitted_knows_when_a_model_is_fitted(cdnow_summary: pd.DataFrame) -> None:
    model = BetaGeoModel()
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(model)
    model.fit(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    check_is_fitted(model)


def test_repr_shows_hyper_parameters_before_fit_and_estimates_after(
    cdnow_summary: pd.DataFrame,
) -> None:
    assert repr(ParetoNBDModel(penalizer_coef=0.1)) == "ParetoNBDModel(penalizer_coef=0.1)"
    model = BetaGeoModel().fit(
        cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    )
    assert repr(model) == "BetaGeoModel(r=0.2426, alpha=4.414, a=0.7929, b=2.426)"


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_score_on_the_fitting_data_is_the_log_likelihood_per_customer(
    cls: type[BaseEstimator], cdnow_summary: pd.DataFrame, repeat_buyers: pd.DataFrame
) -> None:
    model = _fitted(cls, cdnow_summary, repeat_buyers)
    if cls is GammaGammaModel:
        # customers without repeat purchases carry no spend information and are ignored
        score = model.score(repeat_buyers["frequency"], repeat_buyers["monetary_value"])
        everyone = model.score(
            [0.0, *repeat_buyers["frequency"]], [0.0, *repeat_buyers["monetary_value"]]
        )
        assert everyone == pytest.approx(score, rel=1e-12)
        per_customer = model.log_likelihood_ / model.n_customers_
    elif cls is ShiftedBetaGeometricModel:
        score = model.score(REGULAR)
        per_customer = model.log_likelihood_ / REGULAR[0]
    else:
        score = model.score(
            cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
        )
        per_customer = model.log_likelihood_ / model.n_customers_
    assert isinstance(score, float)
    assert score == pytest.approx(per_customer, rel=1e-9)


@pytest.mark.parametrize("cls", PURCHASE_MODELS)
def test_score_weights_count_customers(cls: type[Any], cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    model = cls().fit(s["frequency"], s["recency"], s["T"])
    head = s.iloc[:20]
    doubled = pd.concat([head, head])
    weighted = model.score(head["frequency"], head["recency"], head["T"], weights=np.full(20, 2.0))
    assert weighted == pytest.approx(
        model.score(doubled["frequency"], doubled["recency"], doubled["T"]), rel=1e-12
    )
    with pytest.raises(AnalyticsError, match="no customer to score"):
        model.score([1.0], [1.0], [2.0], weights=[0.0])


def test_score_before_fit_raises_not_fitted() -> None:
    from soloist.analytics import NotFittedError

    with pytest.raises(NotFittedError):
        BetaGeoModel().score([1], [1], [2])
    with pytest.raises(NotFittedError):
        GammaGammaModel().score([1], [2.0])
    with pytest.raises(NotFittedError):
        ShiftedBetaGeometricModel().score(REGULAR)


def test_a_clone_based_cross_validation_loop_picks_a_penalizer(
    cdnow_summary: pd.DataFrame,
) -> None:
    """``GridSearchCV`` cannot split the three arrays ``fit(frequency, recency, T)`` takes; the
    same search is a short loop over ``clone`` + ``set_params``, a splitter and ``score``."""
    columns = [cdnow_summary[c].to_numpy() for c in ("frequency", "recency", "T")]
    base = BetaGeoModel()
    held_out: dict[float, float] = {}
    for params in ParameterGrid({"penalizer_coef": [0.0, 0.01, 0.1, 1.0]}):
        scores = []
        for train, test in KFold(n_splits=5, shuffle=True, random_state=0).split(columns[0]):
            model = clone(base).set_params(**params).fit(*(c[train] for c in columns))
            scores.append(model.score(*(c[test] for c in columns)))
        held_out[params["penalizer_coef"]] = float(np.mean(scores))
    # 2,357 customers identify the four parameters well: every penalty only costs fit
    assert max(held_out, key=held_out.__getitem__) == 0.0
    assert list(held_out.values()) == sorted(held_out.values(), reverse=True)
    assert base.get_params() == {"penalizer_coef": 0.0}  # the template was never touched
    assert not hasattr(base, "params_")


def test_importing_a_model_imports_neither_sklearn_nor_the_frame_libraries() -> None:
    code = (
        "import sys, soloist.analytics.bg_nbd, soloist.analytics.pareto_nbd, "
        "soloist.analytics.gamma_gamma, soloist.analytics.sbg; "
        "print(sorted(m for m in ('sklearn', 'pandas', 'polars', 'scipy.stats') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
