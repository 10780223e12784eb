"""Choosing the purchase model by evidence: ``soloist analyze``'s model choice against lifetimes
0.11.3 used by hand, on two real data sets, in one run.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python benchmarks/analyze_models.py

Data: CDNOW master (``tests/data/CDNOW_master.txt``, 23,570 customers) and the full UCI Online
Retail log (``tests/data/online-retail``, 13 monthly files; invoices without a CustomerID and
cancellations — InvoiceNo starting with "C" — left out, amount = Quantity × UnitPrice summed per
invoice: 4,339 customers). Both become the frame ``soloist analyze`` reads (one row per order:
customer, time, amount), cut as it cuts them: the calibration window ends 90 days before the
last order, the holdout is the 90 days that follow.

Soloist side (this interpreter): ``compare_purchase_models`` over BG/NBD, MBG/NBD and
Pareto/NBD (penalties chosen by cross-validation included) plus ``fit_purchase_model`` of the
chosen model on all the data; and the same two steps with BG/NBD forced (``--model bg-nbd``).

lifetimes side (``benchmarks/.venv-lifetimes``, created as ``bench_btyd.py`` creates it): its
three fitters with ``penalizer_coef=0`` on the same calibration columns (frequency, recency, T
in days from Soloist's ``rfm_summary``), then
``conditional_expected_number_of_purchases_up_to_time(90, …)``; one subprocess per data set and
fitter. Prints the Markdown section; ``--write`` also puts it into ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from soloist.analytics import rfm_summary
from soloist.domain.scoring import model_choice
from soloist.domain.scoring.model_choice import (
    ModelComparison,
    compare_purchase_models,
    fit_purchase_model,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_btyd import PINS, lifetimes_python  # the lifetimes venv, shared

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
SECTION_HEADING = "## Choosing the purchase model"
COMMAND = "PYTHONPATH=src .venv/bin/python benchmarks/analyze_models.py"
HOLDOUT_DAYS = 90
MODELS = ["bg-nbd", "mbg-nbd", "pareto-nbd"]
LABEL = {"bg-nbd": "BG/NBD", "mbg-nbd": "MBG/NBD", "pareto-nbd": "Pareto/NBD"}
FITTER = dict(
    zip(MODELS, ("BetaGeoFitter", "ModifiedBetaGeoFitter", "ParetoNBDFitter"), strict=True)
)
#: a lifetimes fit still running after this many seconds is stopped
FIT_TIMEOUT = 300.0
#: a fitted parameter below or above these (time in days) has run off to 0 or infinity
BOUNDARY = (1e-4, 1e4)
#: random states of the cross-validation folds tried besides Soloist's own (0), untimed
OTHER_SPLITS = (1, 2)

# The lifetimes side (run in its venv): worker.py MODEL IN.npz OUT.json HOLDOUT_DAYS REPEATS.
# Fits on (frequency, recency, T), predicts for (pfrequency, precency, pT); writes the timings,
# params, standard errors, warnings, predictions (OUT.npy), or the exception and time to it.
WORKER = r"""
import contextlib, io, json, sys, time, warnings
from pathlib import Path
import numpy as np

def main():
    name, src, dst = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    holdout, repeats = float(sys.argv[4]), int(sys.argv[5])
    import lifetimes, pandas
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    cls = {"bg-nbd": BetaGeoFitter, "mbg-nbd": ModifiedBetaGeoFitter,
           "pareto-nbd": ParetoNBDFitter}[name]
    with np.load(src) as npz:
        d = {k: npz[k] for k in npz.files}
    out = {"versions": {"lifetimes": lifetimes.__version__, "numpy": np.__version__,
                        "pandas": pandas.__version__}}
    printed, messages, times = io.StringIO(), set(), []
    for _ in range(repeats):
        fitter = cls(penalizer_coef=0.0)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught, \
                    contextlib.redirect_stdout(printed):
                warnings.simplefilter("always")
                fitter.fit(d["frequency"], d["recency"], d["T"])
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            out.update(status="error", error=f"{type(exc).__name__}: {first}",
                       seconds=time.perf_counter() - start)
            dst.write_text(json.dumps(out))
            return
        times.append(time.perf_counter() - start)
        messages |= {f"{w.category.__name__}: {str(w.message).splitlines()[0][:100]}"
                     for w in caught}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predicted = fitter.conditional_expected_number_of_purchases_up_to_time(
            holdout, d["pfrequency"], d["precency"], d["pT"])
    predict_seconds = time.perf_counter() - start
    messages |= {f"{w.category.__name__}: {str(w.message).splitlines()[0][:100]}"
                 for w in caught}
    np.save(dst.with_suffix(".npy"), np.asarray(predicted, dtype=np.float64))
    se = getattr(fitter, "standard_errors_", None)
    out.update(
        status="ok", seconds=min(times), predict_seconds=predict_seconds,
        params={k: float(v) for k, v in fitter.params_.items()},
        standard_errors=None if se is None else {k: float(v) for k, v in se.items()},
        warnings=sorted(messages),
    )
    dst.write_text(json.dumps(out))

main()
"""


# --------------------------------------------------------------------------- data
def cdnow_orders() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "CDNOW_master.txt", sep=r"\s+", dtype={"date": str})
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollar_value"].astype("float64"),
        }
    )


def online_retail_orders() -> pd.DataFrame:
    parts = sorted((DATA / "online-retail").glob("online_retail_*.csv.gz"))
    raw = pd.concat(
        pd.read_csv(p, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}) for p in parts
    )
    # customers numbered in order of first appearance, as the import numbers them (the row
    # order decides the cross-validation folds, and so can decide a penalty)
    raw["CustomerID"] = pd.factorize(raw["CustomerID"])[0] + 1
    raw = raw[raw["CustomerID"] > 0]
    raw = raw[~raw["InvoiceNo"].str.startswith("C")]
    raw = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"])
    invoices = raw.groupby("InvoiceNo").agg(
        customer_id=("CustomerID", "first"),
        ordered_at=("InvoiceDate", "min"),
        amount=("amount", "sum"),
    )
    invoices["ordered_at"] = pd.to_datetime(invoices["ordered_at"])
    return invoices.reset_index(drop=True)


@dataclass
class DataSet:
    label: str
    orders: pd.DataFrame
    end: pd.Timestamp = field(init=False)
    calibration_end: pd.Timestamp = field(init=False)
    calibration: pd.DataFrame = field(init=False)
    full: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.end = end = self.orders["ordered_at"].max()  # as `analyze` without --end-date
        self.calibration_end = end - pd.Timedelta(days=HOLDOUT_DAYS)
        args = (self.orders, "customer_id", "ordered_at", "amount")
        self.calibration = rfm_summary(
            *args, observation_end=end, calibration_end=self.calibration_end
        )
        self.full = rfm_summary(*args, observation_end=end)

    def describe(self) -> str:
        o = self.orders
        return (
            f"{self.label}: {len(o):,} orders of {o['customer_id'].nunique():,} customers, "
            f"{o['ordered_at'].min():%Y-%m-%d} – {self.end:%Y-%m-%d}; calibration to "
            f"{self.calibration_end:%Y-%m-%d} ({len(self.calibration):,} customers, "
            f"{int(self.calibration['frequency_holdout'].sum()):,} repeat purchases in the "
            f"{HOLDOUT_DAYS}-day holdout)"
        )


def holdout_figures(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """The holdout figures of ``model_choice.holdout_metrics``, for either side."""
    errors = predicted - actual
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "aggregate_error_percent": 100 * (predicted.sum() - actual.sum()) / actual.sum(),
    }


# --------------------------------------------------------------------------- soloist
@dataclass
class Ours:
    seconds: float
    choice_seconds: float
    final_seconds: float
    comparison: ModelComparison
    final_penalizer: float
    per_model: dict[str, float] = field(default_factory=dict)  # each candidate's fit (s)
    other_splits: dict[int, ModelComparison] = field(default_factory=dict)  # by random_state


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - start, result))
    return min(runs, key=lambda run: run[0])


def run_soloist(data: DataSet, names: list[str], repeats: int) -> Ours:
    def choose() -> tuple[dict[str, float], ModelComparison]:
        per_model: dict[str, float] = {}
        with timing_each_fit(per_model):
            return per_model, compare_purchase_models(data.calibration, HOLDOUT_DAYS, names)

    choice_seconds, (per_model, comparison) = best_of(choose, repeats)
    final_seconds, final = best_of(
        lambda: fit_purchase_model(comparison.chosen, data.full), repeats
    )
    ours = Ours(
        choice_seconds + final_seconds,
        choice_seconds,
        final_seconds,
        comparison,
        final.penalizer,
        per_model if len(names) > 1 else {},
    )
    if len(names) > 1:
        for seed in OTHER_SPLITS:  # the same choice with other cross-validation folds
            ours.other_splits[seed] = compare_purchase_models(
                data.calibration, HOLDOUT_DAYS, names, random_state=seed
            )
    return ours


@contextlib.contextmanager
def timing_each_fit(seconds: dict[str, float]) -> Iterator[None]:
    """Record each candidate's ``fit_purchase_model`` time inside the choice (failures too)."""
    original = model_choice.fit_purchase_model

    def timed(name: str, summary: pd.DataFrame, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(name, summary, **kwargs)
        finally:
            seconds[name] = time.perf_counter() - start

    model_choice.fit_purchase_model = timed
    try:
        yield
    finally:
        model_choice.fit_purchase_model = original


# --------------------------------------------------------------------------- lifetimes
@dataclass
class TheirFit:
    name: str
    status: str  # ok, error, timeout
    seconds: float  # the fit (ok: best of the repeats; error: until the exception)
    predict_seconds: float = 0.0
    out: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def boundary(self) -> list[str]:
        low, high = BOUNDARY
        return [k for k, v in self.out.get("params", {}).items() if not low < v < high]

    @property
    def standard_errors_finite(self) -> bool:
        se = self.out.get("standard_errors")
        return se is None or all(np.isfinite(v) for v in se.values())


def run_lifetimes(
    python: Path, worker: Path, tmp: Path, data: DataSet, name: str, repeats: int
) -> TheirFit:
    seen = data.calibration[data.calibration["T"] > 0]  # the rows Soloist fits on
    src, dst = tmp / f"{name}-in.npz", tmp / f"{name}-out.json"
    np.savez(
        src,
        frequency=seen["frequency"].to_numpy(),
        recency=seen["recency"].to_numpy(),
        T=seen["T"].to_numpy(),
        pfrequency=data.calibration["frequency"].to_numpy(),
        precency=data.calibration["recency"].to_numpy(),
        pT=data.calibration["T"].to_numpy(),
    )
    dst.unlink(missing_ok=True)
    cmd = [str(python), str(worker), name, str(src), str(dst), str(HOLDOUT_DAYS), str(repeats)]
    try:
        subprocess.run(cmd, check=True, timeout=FIT_TIMEOUT, capture_output=True)
    except subprocess.TimeoutExpired:
        return TheirFit(name, "timeout", FIT_TIMEOUT)
    out = json.loads(dst.read_text())
    if out["status"] != "ok":
        return TheirFit(name, "error", out["seconds"], out=out)
    predicted = np.load(dst.with_suffix(".npy"))
    actual = data.calibration["frequency_holdout"].to_numpy(dtype=np.float64)
    return TheirFit(
        name,
        "ok",
        out["seconds"],
        out["predict_seconds"],
        out,
        holdout_figures(predicted, actual),
    )


# --------------------------------------------------------------------------- report
def bullet(text: str) -> str:
    return textwrap.fill(
        text, 100, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
    )


def ratio(value: float) -> str:
    return f"{value:.1f}×" if value >= 1 else f"{value:.2f}×"


def pct(value: float) -> str:
    return f"{value:+.1f} %"


def fmt_params(params: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in params.items())


def soloist_cells(data: DataSet, ours: Ours, forced: bool) -> list[str]:
    c = ours.comparison
    fitted = []
    for name in MODELS:
        if name in c.failed:
            fitted.append(f"{LABEL[name]}: not fitted")
        elif name in c.candidates:
            m = c.candidates[name]
            fitted.append(f"{LABEL[name]} {m['rmse']:.4f} ({pct(m['aggregate_error_percent'])})")
    notes = []
    for name in MODELS:
        fit = c.fits.get(name)
        spent = f" ({ours.per_model[name]:.2f} s)" if name in ours.per_model else ""
        if fit is not None and fit.penalizer > 0:
            notes.append(
                f"{LABEL[name]}{spent} not identified by maximum likelihood, penalty "
                f"{fit.penalizer:g} chosen by 3-fold CV"
            )
        elif fit is not None:
            notes.append(f"{LABEL[name]}{spent} maximum likelihood")
        if name in c.failed:
            notes.append(f"{LABEL[name]}{spent} failed: {c.failed[name]}")
    notes.append(
        f"final fit on all data: {LABEL[c.chosen]}, "
        + (f"penalty {ours.final_penalizer:g}" if ours.final_penalizer else "no penalty")
    )
    chosen = c.candidates[c.chosen]
    time_cell = (
        f"{ours.seconds:.3f} (choice {ours.choice_seconds:.3f} + final fit "
        f"{ours.final_seconds:.3f})"
    )
    return [
        data.label,
        "Soloist, `--model bg-nbd`" if forced else "Soloist, choice by evidence",
        "; ".join(fitted),
        time_cell,
        f"{LABEL[c.chosen]} (RMSE {chosen['rmse']:.4f})",
        pct(chosen["aggregate_error_percent"]),
        "; ".join(notes),
    ]


def lifetimes_cells(data: DataSet, fits: list[TheirFit]) -> list[str]:
    fitted, notes = [], []
    for f in fits:
        label = LABEL[f.name]
        if f.status == "timeout":
            fitted.append(f"{label}: stopped after {FIT_TIMEOUT:.0f} s")
            notes.append(f"{FITTER[f.name]} stopped after {FIT_TIMEOUT:.0f} s")
            continue
        if f.status == "error":
            fitted.append(f"{label}: raised")
            notes.append(f"{FITTER[f.name]} ({f.seconds:.2f} s) raised {f.out['error']}")
            continue
        fitted.append(
            f"{label} {f.figures['rmse']:.4f} ({pct(f.figures['aggregate_error_percent'])})"
        )
        what = [f"{f.seconds:.2f} s", fmt_params(f.out["params"])]
        if f.boundary:
            what.append(f"{', '.join(f.boundary)} at the boundary, no error: silent boundary fit")
        if not f.standard_errors_finite:
            what.append("standard errors not finite")
        what += [f"warns {w}" for w in f.out.get("warnings", [])[:2]]
        notes.append(f"{FITTER[f.name]}: " + ", ".join(what))
    ok = [f for f in fits if f.status == "ok"]
    best = min(ok, key=lambda f: f.figures["rmse"]) if ok else None
    total = sum(f.seconds + f.predict_seconds for f in fits)
    return [
        data.label,
        "lifetimes 0.11.3 by hand, penalizer 0",
        "; ".join(fitted),
        f"{total:.3f} (fits {sum(f.seconds for f in fits):.3f})",
        f"{LABEL[best.name]} (RMSE {best.figures['rmse']:.4f})" if best else "—",
        pct(best.figures["aggregate_error_percent"]) if best else "—",
        "; ".join(notes),
    ]


def in_short(c: ModelComparison) -> str:
    """The chosen model, every penalty and the chosen model's aggregate error, in a few words."""
    penalties = ", ".join(f"{LABEL[n]} {fit.penalizer:g}" for n, fit in c.fits.items())
    return (
        f"{LABEL[c.chosen]} kept, {pct(c.candidates[c.chosen]['aggregate_error_percent'])} "
        f"(penalties {penalties}"
        + (f"; not fitted: {', '.join(LABEL[n] for n in c.failed)}" if c.failed else "")
        + ")"
    )


def shows(results: list[tuple[DataSet, Ours, Ours, list[TheirFit]]]) -> str:
    lines = []
    for data, ours, forced, fits in results:
        theirs = sum(f.seconds + f.predict_seconds for f in fits)
        c = ours.comparison
        chosen = c.candidates[c.chosen]
        slowest = max(ours.per_model, key=lambda n: ours.per_model[n])
        parts = [
            f"Soloist's whole choice takes {ours.seconds:.2f} s, "
            f"{ratio(ours.seconds / forced.seconds)} one forced BG/NBD ({forced.seconds:.2f} s); "
            "the slowest candidate is "
            f"{LABEL[slowest]} ({ours.per_model[slowest]:.2f} s of it"
            + (", and then not fitted" if slowest in c.failed else "")
            + f"). lifetimes' three unpenalised fits and predictions take {theirs:.2f} s, "
            f"{ratio(theirs / ours.seconds)} Soloist's whole choice.",
            f"Soloist keeps {LABEL[c.chosen]}: RMSE {chosen['rmse']:.4f}, aggregate error "
            f"{pct(chosen['aggregate_error_percent'])}"
            + (
                "; penalties chosen by CV for "
                + ", ".join(
                    f"{LABEL[n]} ({f.penalizer:g})" for n, f in c.fits.items() if f.penalizer > 0
                )
                if any(f.penalizer > 0 for f in c.fits.values())
                else "; every candidate identified by maximum likelihood"
            )
            + (f"; not fitted: {', '.join(LABEL[n] for n in c.failed)}" if c.failed else "")
            + ".",
        ]
        ok = [f for f in fits if f.status == "ok"]
        if ok:
            best = min(ok, key=lambda f: f.figures["rmse"])
            parts.append(
                f"lifetimes' best by RMSE: {FITTER[best.name]}, {best.figures['rmse']:.4f} "
                f"({pct(best.figures['aggregate_error_percent'])})"
                + (", a boundary fit with no error." if best.boundary else ".")
            )
        if ours.other_splits and any(
            f.penalizer > 0 for o in [c, *ours.other_splits.values()] for f in o.fits.values()
        ):
            parts.append(
                "With other cross-validation folds (untimed): "
                + "; ".join(
                    f"random_state {seed}: {in_short(other)}"
                    for seed, other in ours.other_splits.items()
                )
                + f"; Soloist's own (0): {in_short(c)}."
            )
        lines.append(bullet(f"**{data.label}**: " + " ".join(parts)))
    return "\n".join(lines)


def render(
    results: list[tuple[DataSet, Ours, Ours, list[TheirFit]]],
    load: tuple[float, float],
    versions: dict[str, str],
    repeats: int,
) -> str:
    import scipy
    import sklearn

    header = [
        "| data | side | models fitted: holdout RMSE per customer (aggregate error) | time (s) "
        "| chosen / best by RMSE | its aggregate error | notes |",
        "| --- | --- | --- | ---: | --- | ---: | --- |",
    ]
    rows = []
    for data, ours, forced, fits in results:
        for cells in (
            soloist_cells(data, ours, False),
            soloist_cells(data, forced, True),
            lifetimes_cells(data, fits),
        ):
            rows.append("| " + " | ".join(cells) + " |")
    described = "\n".join(bullet(d.describe()) for d, *_ in results)
    lifetimes_side = (
        f"lifetimes side: lifetimes {versions.get('lifetimes')}, numpy {versions.get('numpy')}, "
        f"pandas {versions.get('pandas')} (own virtual environment: {', '.join(PINS)})"
    )
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores shared with other engineers' jobs (load "
        f"average {load[0]:.1f} at the start, {load[1]:.1f} at the end), {platform.system()} "
        f"{platform.release()}"
    )
    return f"""{SECTION_HEADING} by evidence vs lifetimes by hand (`benchmarks/analyze_models.py`)

`soloist analyze`'s model choice (BG/NBD, MBG/NBD and Pareto/NBD fitted on the calibration window,
compared on the {HOLDOUT_DAYS}-day holdout, an L2 penalty chosen by 3-fold cross-validation where
maximum likelihood is not identified, then the chosen model fitted on all the data) against what a
lifetimes user does by hand: the three fitters with no penalty on the same calibration summary,
then predicting the holdout.

- date: {dt.date.today().isoformat()}
- machine: {machine}
- soloist: Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, \
pandas {pd.__version__}, scikit-learn {sklearn.__version__}
{bullet(lifetimes_side)}
- command: `{COMMAND}`
{described}

{chr(10).join(header + rows)}

Times: Soloist's are the best of {repeats} runs of each step (the seconds after each candidate
in the notes: its `fit_purchase_model` within that fastest choice, penalty search included);
lifetimes' are the fit (best of {repeats}; a fit that raises is timed once, until it raises)
plus one prediction, in its own process (start, imports and loading the data not timed). Both
sides get the same calibration columns from Soloist's `rfm_summary` (days; the customers with
T > 0, the ones Soloist fits on) and predict for every calibration customer; RMSE and aggregate
error come from one function for both. "At the boundary": a fitted parameter below
{BOUNDARY[0]:g} or above {BOUNDARY[1]:g} (time in days), i.e. run off to 0 or infinity.

What it shows:

{shows(results)}
"""


def replace_or_append(text: str, section: str) -> str:
    start = text.find(SECTION_HEADING)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    nxt = text.find("\n## ", start + len(SECTION_HEADING))
    tail = "" if nxt < 0 else text[nxt + 1 :]
    return text[:start] + section.rstrip("\n") + "\n" + ("\n" + tail if tail else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="also put the section into BENCHMARKS.md"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per timed step (best is kept; default 3)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    python = lifetimes_python()
    load_start = os.getloadavg()[0]
    results = []
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp_name:
        tmp = Path(tmp_name)
        worker = tmp / "worker.py"
        worker.write_text(WORKER)
        for label, load in (
            ("CDNOW master", cdnow_orders),
            ("UCI Online Retail", online_retail_orders),
        ):
            print(f"{label} ...", file=sys.stderr, flush=True)
            data = DataSet(label, load())
            ours = run_soloist(data, MODELS, args.repeats)
            forced = run_soloist(data, ["bg-nbd"], args.repeats)
            fits = [run_lifetimes(python, worker, tmp, data, n, args.repeats) for n in MODELS]
            versions = next((f.out["versions"] for f in fits if "versions" in f.out), versions)
            results.append((data, ours, forced, fits))
    load_end = os.getloadavg()[0]
    section = render(results, (load_start, load_end), versions, args.repeats)
    print(section)
    if args.write:
        BENCHMARKS_MD.write_text(replace_or_append(BENCHMARKS_MD.read_text(), section))
        print("written into BENCHMARKS.md", file=sys.stderr)


if __name__ == "__main__":
    main()
