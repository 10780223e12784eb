"""Sentiment of feedback text, beside what a user would otherwise pick, in one run.

- English, out of the box: Soloist's rules (VADER with feedback words) and VADER 3.3.2 alone
  (compound ≥ 0.05 positive) on the UCI sentences (Amazon, Yelp, IMDb).
- Chinese, out of the box: Soloist's rules and SnowNLP 0.12.3 (P ≥ 0.5 positive) on waimai_10k
  (not in SnowNLP's training data), accuracy and ROC AUC.
- Trained on the owner's labels: Soloist's ``choose_sentiment`` (character 1–3-gram TF-IDF with
  logistic regression, 5-fold) on waimai_10k and ChnSentiCorp hotel.
- Speed: texts per second of the rules (both languages) and of the trained model.

    python benchmarks/bench_sentiment.py [--data ../shared/data]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from soloist.analytics import choose_sentiment, sentiment


def uci(data: Path, name: str) -> tuple[list[str], np.ndarray]:
    path = data / "uci-sentiment-sentences" / f"{name}_labelled.txt"
    rows = [line.rsplit("\t", 1) for line in path.read_text("utf-8").split("\n") if line.strip()]
    return [t for t, _ in rows], np.array([int(label) for _, label in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    args = parser.parse_args()
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "date": time.strftime("%Y-%m-%d"),
    }
    english: dict[str, dict[str, float]] = {}
    for name in ("amazon_cells", "yelp", "imdb"):
        texts, y = uci(args.data, name)
        started = time.perf_counter()
        ours = sentiment(texts, language="en")
        rate = len(texts) / (time.perf_counter() - started)
        plain = np.array([vader.polarity_scores(t)["compound"] for t in texts])
        english[name] = {
            "soloist": float(((ours > 0) == y).mean()),
            "vader": float(((plain >= 0.05) == y).mean()),
            "soloist_texts_per_second": rate,
        }
    results["english"] = english

    waimai = pd.read_csv(args.data / "waimai-10k" / "waimai_10k.csv")
    texts, y = waimai["review"].astype(str).tolist(), waimai["label"].to_numpy()
    started = time.perf_counter()
    ours = sentiment(texts, language="zh")
    rate = len(texts) / (time.perf_counter() - started)
    from snownlp import SnowNLP

    started = time.perf_counter()
    snow = np.array([SnowNLP(t).sentiments for t in texts])
    snow_rate = len(texts) / (time.perf_counter() - started)
    results["chinese_waimai"] = {
        "soloist": {
            "accuracy": float(((ours > 0) == y).mean()),
            "roc_auc": float(roc_auc_score(y, ours)),
            "texts_per_second": rate,
        },
        "snownlp": {
            "accuracy": float(((snow >= 0.5) == y).mean()),
            "roc_auc": float(roc_auc_score(y, snow)),
            "texts_per_second": snow_rate,
        },
    }
    trained: dict[str, dict[str, float | None]] = {}
    hotel = pd.read_csv(args.data / "chnsenticorp-hotel" / "ChnSentiCorp_htl_all.csv").dropna()
    for name, frame in (("waimai_10k", waimai), ("chnsenticorp_hotel", hotel)):
        started = time.perf_counter()
        choice = choose_sentiment(
            frame["review"].astype(str).tolist(), frame["label"].astype(int).tolist()
        )
        seconds = time.perf_counter() - started
        scoring = None
        if choice.model is not None:
            started = time.perf_counter()
            choice.model.score(frame["review"].astype(str).tolist())
            scoring = len(frame) / (time.perf_counter() - started)
        trained[name] = {
            "method": choice.method,  # type: ignore[dict-item]
            "rules_accuracy": choice.rules_accuracy,
            "trained_accuracy_5_fold": choice.trained_accuracy,
            "choose_seconds": seconds,
            "trained_texts_per_second": scoring,
        }
    results["trained"] = trained
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
