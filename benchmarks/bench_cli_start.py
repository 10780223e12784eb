"""How fast the command line starts, as whole processes (median of N): ``soloist --help``,
``soloist status --json`` on a workspace, and the anchor ``python -c "import typer"`` (what
any Typer program pays before its own code).

    python benchmarks/bench_cli_start.py --workspace demo-workspace
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# As after ``pip install``, which compiles every module: the bytecode is written by a first,
# uncounted run even where the environment turns writing it off.
_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _median_s(command: list[str], runs: int) -> float:
    subprocess.run(command, check=True, capture_output=True, env=_ENVIRONMENT)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=_ENVIRONMENT)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "import_typer_s": _median_s([python, "-c", "import typer"], args.runs),
        "soloist_help_s": _median_s([python, "-m", "soloist", "--help"], args.runs),
        "soloist_status_json_s": _median_s(
            [python, "-m", "soloist", "status", "--json", "--workspace", args.workspace],
            args.runs,
        ),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
