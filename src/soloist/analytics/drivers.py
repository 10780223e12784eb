"""Satisfaction drivers: which factors move CSAT / NPS, with effect sizes and uncertainty.

An ordinary least-squares regression of the score on the candidate factors, with
heteroskedasticity-consistent HC3 standard errors (MacKinnon & White 1985, *J. Econometrics*
29(3); recommended for small samples by Long & Ervin 2000, *Am. Statistician* 54(3)):

``β = (X'X)⁻¹ X'y``, ``Var(β) = (X'X)⁻¹ X' diag(e_i² / (1 − h_ii)²) X (X'X)⁻¹``,

with ``h_ii`` the leverages. Numeric factors are standardised first, so each effect reads "score
points per one standard deviation of the factor" and effects of different units can be ranked;
categorical factors become indicator columns against their most common level, read "score
points compared with <reference>". 95 % intervals use the t distribution with ``n − p`` degrees
of freedom. Effects are associations, not proof of cause.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .errors import AnalyticsError

__all__ = ["ols_hc3", "satisfaction_drivers"]


def ols_hc3(X: Any, y: Any) -> dict[str, Any]:
    """OLS coefficients with HC3 standard errors; ``X`` must include the intercept column."""
    x = np.asarray(X, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    n, p = x.shape
    if n <= p:
        raise AnalyticsError(f"{n} observations cannot estimate {p} coefficients")
    if np.linalg.matrix_rank(x) < p:
        raise AnalyticsError("the factors are collinear (one is a combination of others)")
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ yy
    resid = yy - x @ beta
    leverage = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    weights = resid**2 / np.clip(1.0 - leverage, 1e-12, None) ** 2
    cov = xtx_inv @ (x.T * weights) @ x @ xtx_inv
    ss_res = float(resid @ resid)
    ss_tot = float(((yy - yy.mean()) ** 2).sum())
    return {
        "coef": beta,
        "se": np.sqrt(np.diag(cov)),
        "df": n - p,
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
        "n": n,
    }


def satisfaction_drivers(
    frame: pd.DataFrame,
    outcome: str,
    *,
    numeric: list[str] | None = None,
    categorical: list[str] | None = None,
    confidence: float = 0.95,
    min_level_count: int = 5,
) -> pd.DataFrame:
    """Ranked drivers of ``outcome`` (e.g. a CSAT score) from a regression.

    Parameters
    ----------
    frame : DataFrame
        One row per response: the score and the candidate factors. Rows with a missing value
        in a used column are dropped.
    numeric, categorical : list of str
        Factor columns; by default numeric dtypes are numeric and the rest categorical.
    min_level_count : int
        Category levels with fewer responses are pooled into "other".

    Returns
    -------
    DataFrame, one row per effect, strongest (largest ``|effect|``) first: ``factor``,
    ``level`` (categorical) or None, ``effect``, ``std_error``, ``ci_lower``, ``ci_upper``,
    ``p_value``, ``significant``, ``description``. ``attrs`` holds ``r2``, ``n`` and the
    outcome's standard deviation.
    """
    if outcome not in frame.columns:
        raise AnalyticsError(f"frame has no column {outcome!r}")
    factors = [c for c in frame.columns if c != outcome]
    if numeric is None:
        numeric = [c for c in factors if pd.api.types.is_numeric_dtype(frame[c])]
    if categorical is None:
        categorical = [c for c in factors if c not in numeric]
    used = [outcome, *numeric, *categorical]
    missing = [c for c in used if c not in frame.columns]
    if missing:
        raise AnalyticsError(f"frame has no column(s) {missing}")
    data = frame[used].dropna()
    if len(data) < 10:
        raise AnalyticsError(f"only {len(data)} complete responses: too few to estimate drivers")
    columns: list[np.ndarray[Any, Any]] = [np.ones(len(data))]
    names: list[tuple[str, str | None, str]] = []
    for col in numeric:
        values = data[col].astype(np.float64)
        sd = float(values.std(ddof=0))
        if sd == 0:
            continue
        columns.append(((values - values.mean()) / sd).to_numpy())
        names.append((col, None, f"+1 SD of {col.replace('_', ' ')} ({sd:.3g})"))
    for col in categorical:
        levels = data[col].astype("string")
        counts = levels.value_counts()
        rare = counts[counts < min_level_count].index
        levels = levels.where(~levels.isin(rare), "other")
        counts = levels.value_counts()
        reference = str(counts.index[0])
        for level in counts.index[1:]:
            columns.append((levels == level).to_numpy(dtype=np.float64))
            names.append((col, str(level), f"{col.replace('_', ' ')} = {level} vs {reference}"))
    if not names:
        raise AnalyticsError("no factor varies: there is nothing to explain the score with")
    fit = ols_hc3(np.column_stack(columns), data[outcome].to_numpy(dtype=np.float64))
    q = stats.t.ppf(0.5 + confidence / 2.0, fit["df"])
    coef, se = fit["coef"][1:], fit["se"][1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stat = np.where(se > 0, coef / se, 0.0)
    p_value = 2.0 * stats.t.sf(np.abs(t_stat), fit["df"])
    result = pd.DataFrame(
        {
            "factor": [n[0] for n in names],
            "level": [n[1] for n in names],
            "effect": coef,
            "std_error": se,
            "ci_lower": coef - q * se,
            "ci_upper": coef + q * se,
            "p_value": p_value,
            "significant": p_value < (1.0 - confidence),
            "description": [n[2] for n in names],
        }
    )
    result = result.reindex(result["effect"].abs().sort_values(ascending=False).index)
    result = result.reset_index(drop=True)
    result.attrs.update(
        {"r2": float(fit["r2"]), "n": int(fit["n"]), "outcome_sd": float(data[outcome].std())}
    )
    return result
