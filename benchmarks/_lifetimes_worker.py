"""The lifetimes side of ``bench_btyd.py``; runs in ``benchmarks/.venv-lifetimes``.

Usage (called by bench_btyd.py, not by hand)::

    .venv-lifetimes/bin/python _lifetimes_worker.py TASK INPUT.npz OUTPUT.json REPEATS [END]

TASK is ``bgnbd``, ``mbgnbd``, ``pareto``, ``gg`` (inputs ``frequency``, ``recency``, ``T``
and for ``gg`` ``monetary_value``) or ``rfm`` (inputs ``customer_id``, ``day`` — days since
1970-01-01 — and ``dollar_value``; END is the observation end). Only the fit (or the summary)
is timed: process start, imports, data loading and the log-likelihood evaluation afterwards are
not. Prints nothing; writes a JSON object with ``seconds`` (best of REPEATS), ``params`` and
``log_likelihood`` (the total over all customers, see ``_total_log_likelihood``). For ``rfm``
the summary itself is written next to OUTPUT.json as ``OUTPUT.npz`` so that the benchmark can
check that both libraries give the same numbers.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _total_log_likelihood(task: str, fitter: Any, data: Any) -> float:
    """lifetimes' own likelihood at its fitted parameters, as a total over customers.

    lifetimes minimises a *mean* (BG/NBD, Gamma-Gamma: sum / sum of weights; Pareto/NBD:
    sum / mean of weights) on times rescaled so that max(T) = 10, which shifts the
    log-likelihood by a constant. We call its ``_negative_log_likelihood`` again on the
    unscaled data, at the unscaled parameters, with weights 1 and no penalty, and multiply the
    mean back into a total — the quantity soloist reports as ``log_likelihood_``.
    """
    w = np.ones(len(data["frequency"]))
    params = fitter.params_
    if task in ("bgnbd", "mbgnbd"):
        x = np.asarray(data["frequency"]).astype(int)
        theta = np.log(params[["r", "alpha", "a", "b"]].to_numpy())
        nll = fitter._negative_log_likelihood(theta, x, data["recency"], data["T"], w, 0.0)
        return float(-nll * w.sum())
    if task == "pareto":
        x = np.asarray(data["frequency"]).astype(int)
        theta = params[["r", "alpha", "s", "beta"]].to_numpy()
        nll = fitter._negative_log_likelihood(theta, x, data["recency"], data["T"], w, 0.0)
        return float(-nll * w.mean())
    theta = np.log(params[["p", "q", "v"]].to_numpy())
    nll = fitter._negative_log_likelihood(theta, data["frequency"], data["monetary_value"], w, 0.0)
    return float(-nll * w.sum())


def _fit(task: str, data: Any, repeats: int) -> dict[str, Any]:
    from lifetimes import (
        BetaGeoFitter,
        GammaGammaFitter,
        ModifiedBetaGeoFitter,
        ParetoNBDFitter,
    )

    times = []
    fitter: Any = None
    for _ in range(repeats):
        if task == "bgnbd":
            fitter = BetaGeoFitter()
            args = (data["frequency"], data["recency"], data["T"])
        elif task == "mbgnbd":
            fitter = ModifiedBetaGeoFitter()
            args = (data["frequency"], data["recency"], data["T"])
        elif task == "pareto":
            fitter = ParetoNBDFitter()
            args = (data["frequency"], data["recency"], data["T"])
        else:
            fitter = GammaGammaFitter()
            args = (data["frequency"], data["monetary_value"])
        start = time.perf_counter()
        fitter.fit(*args)
        times.append(time.perf_counter() - start)
    return {
        "seconds": min(times),
        "params": {k: float(v) for k, v in fitter.params_.items()},
        "log_likelihood": _total_log_likelihood(task, fitter, data),
    }


def _rfm(data: Any, end: str, repeats: int, out_npz: Path) -> dict[str, Any]:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    tx = pd.DataFrame(
        {
            "customer_id": data["customer_id"],
            "date": data["day"].astype("datetime64[D]").astype("datetime64[ns]"),
            "dollar_value": data["dollar_value"],
        }
    )
    times = []
    summary: Any = None
    for _ in range(repeats):
        start = time.perf_counter()
        summary = summary_data_from_transaction_data(
            tx, "customer_id", "date", "dollar_value", observation_period_end=end
        )
        times.append(time.perf_counter() - start)
    summary = summary.sort_index()
    np.savez(
        out_npz,
        index=summary.index.to_numpy(),
        **{c: summary[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value")},
    )
    return {"seconds": min(times), "rows": len(tx), "customers": len(summary)}


def main() -> None:
    task, src, dst, repeats = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    warnings.simplefilter("ignore")
    with np.load(src) as npz:
        data = {k: npz[k] for k in npz.files}
    if task == "rfm":
        result = _rfm(data, sys.argv[5], repeats, dst.with_suffix(".npz"))
    else:
        result = _fit(task, data, repeats)
    import lifetimes
    import pandas as pd

    result["versions"] = {
        "lifetimes": lifetimes.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
    dst.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
