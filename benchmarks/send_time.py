"""Benchmark: send-time optimisation over weekly campaigns, 300 / 3,000 / 30,000 customers.

Generating model (all times UTC; hour of the week 0 = Monday 00:00):

- **True hours.** Each customer has one preferred hour of the week h*: 45% morning commuters
  (a weekday, 07:00), 35% evening readers (a weekday, 20:00), 20% weekend readers (Saturday or
  Sunday, 10:00), the day drawn uniformly within the type, plus an individual offset
  round(N(0, 1.5²)) hours.
- **Clicks.** A message sent at hour h is clicked with probability
  p(h) = 3% + 9% · exp(−d² / (2 · 1.5²)), d = circular distance in hours between h and h*
  (12% at h*, 10% at ±1 h, 7% at ±2 h, 4% at ±3 h, 3% far away). The click comes
  Exponential(mean 45 min) after the send, so it is timestamped at or just after the send hour.
- **Site activity** (second scenario only): besides clicks, each customer visits or orders
  Poisson(0.5) times a week, from 8 weeks before the first campaign on: 60% at h* + round(N(0,1))
  h, 25% at that hour on another day of the week, 15% at a uniformly random hour.

Campaigns go out weekly (8 by default) to every customer. The same customers, the same click
draws (common random numbers) and the same timestamps serve three policies:

1. **model**: ``SendTimeModel`` refitted before each campaign on the events so far (clicks, plus
   site activity in the second scenario), Thompson sampling (``sample=True``, exploration 0.1).
   With no events at all (first campaign, clicks only), every customer gets a uniformly random
   hour: the first campaign explores.
2. **one hour**: everyone at one hour: Tuesday 10:00 for the first campaign, then the hour with the
   highest click rate so far, smoothed over ±3 h like the model's profile, measured on the random
   policy's sends (an unbiased exploration log as large as the list, free of charge; this flatters
   the policy);
3. **random**: a uniformly random hour for each customer and campaign.

Two reference rows are expectations, not simulations: everyone at their own true hour (12%), and
everyone at the single hour that is best for this population. The table reports clicks per
message over campaigns 5–8; then, after the last campaign, the share of customers whose
model hour (``best_hours``, posterior mean) is within ±1 h and ±3 h of h*, beside the same share
for the population's best hour; and the time of the last ``fit`` and ``best_hours``.

Run: ``.venv/bin/python benchmarks/send_time.py [--sizes 300 3000 30000] [--campaigns 8]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from soloist.analytics.send_time import HOURS_OF_WEEK as H
from soloist.analytics.send_time import SendTimeModel

START = pd.Timestamp("2026-10-05", tz="UTC")  # a Monday, 00:00 UTC
TUESDAY_10 = 24 + 10
BASE, PEAK, WIDTH = 0.03, 0.12, 1.5
DELAY_HOURS = 0.75
ACTIVITY_PER_WEEK = 0.5
WARMUP_WEEKS = 8


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(np.asarray(a) - np.asarray(b)) % H
    return np.minimum(d, H - d)


def click_probability(hours: np.ndarray, true: np.ndarray) -> np.ndarray:
    return BASE + (PEAK - BASE) * np.exp(-(distance(hours, true) ** 2) / (2 * WIDTH**2))


def smooth_week(counts: np.ndarray) -> np.ndarray:
    """Circular Gaussian smoothing (sd 1 h, ±3 h) of 168 hourly counts."""
    offsets = np.arange(-3, 4)
    weights = np.exp(-0.5 * offsets.astype(float) ** 2)
    return sum((w * np.roll(counts, s) for w, s in zip(weights, offsets, strict=True)), np.zeros(H))


def true_hours(n: int, rng: np.random.Generator) -> np.ndarray:
    kind = rng.choice(3, n, p=[0.45, 0.35, 0.20])
    day = np.where(kind == 2, rng.integers(5, 7, n), rng.integers(0, 5, n))
    hour = np.array([7, 20, 10])[kind] + np.rint(rng.normal(0, 1.5, n)).astype(int)
    return (day * 24 + hour) % H


def site_activity(true: np.ndarray, weeks: range, rng: np.random.Generator) -> pd.DataFrame:
    """Visits and orders at the customers' habits (see the module docstring)."""
    frames = []
    for week in weeks:
        k = rng.poisson(ACTIVITY_PER_WEEK, true.size)
        who = np.repeat(np.arange(true.size), k)
        near = (true[who] + np.rint(rng.normal(0, 1, who.size)).astype(int)) % H
        other_day = (near + 24 * rng.integers(1, 7, who.size)) % H
        u = rng.random(who.size)
        hour = np.where(u < 0.6, near, np.where(u < 0.85, other_day, rng.integers(0, H, who.size)))
        minutes = week * H * 60 + hour * 60 + rng.integers(0, 60, who.size)
        frames.append(pd.DataFrame({"customer": who, "minute": minutes}))
    return pd.concat(frames, ignore_index=True)


def to_events(minutes: pd.DataFrame) -> pd.DataFrame:
    stamps = START + pd.to_timedelta(minutes["minute"].to_numpy(), unit="min")
    return pd.DataFrame({"customer": minutes["customer"].to_numpy(), "timestamp": stamps})


@dataclass
class Run:
    clicks: dict[str, list[float]] = field(default_factory=dict)
    recovery: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0
    best_hours_seconds: float = 0.0
    events: int = 0
    kappa: float = 0.0


def best_of(repeats: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def simulate(n: int, campaigns: int, activity: bool, seed: int) -> Run:
    rng = np.random.default_rng(seed)
    true = true_hours(n, rng)
    customers = np.arange(n)
    history: dict[str, list[pd.DataFrame]] = {"model": [], "one hour": [], "random": []}
    # one generator per policy: no policy's draws shift another's
    choose = {name: np.random.default_rng([seed, i]) for i, name in enumerate(history)}
    if activity:
        history["model"].append(site_activity(true, range(-WARMUP_WEEKS, 0), rng))
    random_sends = np.zeros(H)
    random_clicks = np.zeros(H)
    run = Run(clicks={name: [] for name in history})
    model = SendTimeModel()
    for week in range(campaigns):
        uniform = rng.random(n)  # common random numbers: one click draw per customer
        delay = np.minimum(rng.exponential(DELAY_HOURS * 60, n), 48 * 60).astype(int)
        if activity:
            history["model"].append(site_activity(true, range(week, week + 1), rng))
        for name in history:
            if name == "model":
                frames = [f for f in history["model"] if len(f)]
                if frames:
                    model.fit(to_events(pd.concat(frames, ignore_index=True)))
                    chosen = model.best_hours(customers, True, choose[name])
                    hours = chosen["hour_of_week"].to_numpy()
                else:  # nothing known yet: explore
                    hours = choose[name].integers(0, H, n)
            elif name == "one hour":
                if random_sends.sum() == 0:
                    best = TUESDAY_10
                else:
                    rate = smooth_week(random_clicks) / np.maximum(smooth_week(random_sends), 1e-9)
                    best = int(np.argmax(rate))
                hours = np.full(n, best)
            else:
                hours = choose[name].integers(0, H, n)
            clicked = uniform < click_probability(hours, true)
            if name == "random":
                random_sends += np.bincount(hours, minlength=H)
                random_clicks += np.bincount(hours[clicked], minlength=H)
            run.clicks[name].append(float(clicked.mean()))
            minute = week * H * 60 + hours[clicked] * 60 + delay[clicked]
            history[name].append(pd.DataFrame({"customer": customers[clicked], "minute": minute}))
    events = to_events(pd.concat([f for f in history["model"] if len(f)], ignore_index=True))
    run.fit_seconds = best_of(3, lambda: model.fit(events))
    run.best_hours_seconds = best_of(3, lambda: model.best_hours(customers, True, 0))
    chosen_hours = model.best_hours(customers)["hour_of_week"].to_numpy()
    population = np.full(n, model.population_best_hour_)
    rows = model.customers_.get_indexer(customers)
    counts = np.where(rows[:, None] >= 0, model.counts_[np.maximum(rows, 0)], 0)
    modal = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), model.population_best_hour_)
    labels = (("model", chosen_hours), ("modal hour", modal), ("population hour", population))
    for label, hours in labels:
        for radius in (1, 3):
            run.recovery[f"{label} ±{radius} h"] = float((distance(hours, true) <= radius).mean())
    run.events, run.kappa = len(events), model.kappa_
    own = click_probability(true, true).mean()
    single = max(click_probability(np.full(n, h), true).mean() for h in range(H))
    run.clicks["oracle: own true hour"] = [float(own)] * campaigns
    run.clicks["oracle: best single hour"] = [float(single)] * campaigns
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3_000, 30_000])
    parser.add_argument("--campaigns", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--customers-per-size",
        type=int,
        default=30_000,
        help="repeat each size with new populations until this many customers (max 20 runs)",
    )
    args = parser.parse_args()
    late = slice(4, args.campaigns)  # campaigns 5–8
    versions = (
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}"
    )
    load = f"load average {os.getloadavg()[0]:.1f}"
    print(
        f"date {dt.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, {versions}, {load}"
    )
    started = time.perf_counter()
    runs: dict[tuple[str, int], list[Run]] = {}
    for scenario in ("clicks only", "clicks + site activity"):
        for n in args.sizes:
            repeats = min(20, max(1, args.customers_per_size // n))
            activity = scenario == "clicks + site activity"
            seeds = range(args.seed, args.seed + repeats)
            runs[scenario, n] = [simulate(n, args.campaigns, activity, s) for s in seeds]
    print(f"total {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}\n")

    policies = ["model", "one hour", "random", "oracle: own true hour", "oracle: best single hour"]
    print(f"Clicks per message, campaigns 5–{args.campaigns} (mean over runs):\n")
    print("| scenario | customers | runs | " + " | ".join(policies) + " | model ÷ one hour |")
    print("| --- | ---: | ---: |" + " ---: |" * (len(policies) + 1))
    for (scenario, n), group in runs.items():
        rate = {p: float(np.mean([r.clicks[p][late] for r in group])) for p in policies}
        cells = " | ".join(f"{100 * rate[p]:.2f}%" for p in policies)
        ratio = rate["model"] / rate["one hour"]
        print(f"| {scenario} | {n:,} | {len(group)} | {cells} | {ratio:.2f}× |")

    print(f"\nAfter {args.campaigns} campaigns, model refitted on all events (mean over runs; "
          "times: best of 3, first run):\n")  # fmt: skip
    keys = list(runs[next(iter(runs))][0].recovery)
    print("| scenario | customers | events | κ | " + " | ".join(keys) + " | fit (s) | best_hours, "
          "sample=True (s) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: |" + " ---: |" * (len(keys) + 2))
    for (scenario, n), group in runs.items():
        cells = " | ".join(f"{100 * np.mean([r.recovery[k] for r in group]):.1f}%" for k in keys)
        events = np.mean([r.events for r in group])
        kappa = np.median([r.kappa for r in group])
        print(f"| {scenario} | {n:,} | {events:,.0f} | {kappa:.1f} | {cells} | "
              f"{group[0].fit_seconds:.3f} | {group[0].best_hours_seconds:.3f} |")  # fmt: skip

    print("\nClicks per message (%) by campaign, model / one hour / random (mean over runs):")
    for (scenario, n), group in runs.items():
        series = " ".join(
            "/".join(
                f"{100 * np.mean([r.clicks[p][i] for r in group]):.1f}"
                for p in ("model", "one hour", "random")
            )
            for i in range(args.campaigns)
        )
        print(f"- {scenario}, {n:,}: {series}")


if __name__ == "__main__":
    main()
