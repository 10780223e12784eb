"""``soloist worker``: queue a job, run what is due once, list the jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("SOLOIST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def test_a_queued_refit_runs_once_and_is_listed_as_done(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("init", "--workspace", ws).returncode == 0
    queued = run("worker", "enqueue", "refit", "--workspace", ws, "--json")
    assert queued.returncode == 0, queued.stderr
    job = json.loads(queued.stdout)
    assert (job["kind"], job["status"]) == ("refit", "queued")
    ran = run("worker", "--once", "--workspace", ws, "--json")
    assert ran.returncode == 0, ran.stderr
    assert [(o["job_id"], o["status"]) for o in json.loads(ran.stdout)] == [(job["id"], "done")]
    listed = run("worker", "jobs", "--status", "done", "--workspace", ws, "--json")
    assert listed.returncode == 0, listed.stderr
    (done,) = json.loads(listed.stdout)
    assert done["result"] == {"skipped": "no paid orders and no subscriptions in USD to analyse"}


def test_an_unknown_job_kind_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("init", "--workspace", ws).returncode == 0
    refused = run("worker", "enqueue", "teleport", "--workspace", ws)
    assert refused.returncode == 1
    assert (
        "Error: Unknown job kind 'teleport'; the worker knows backup, loyalty-daily, loyalty-sync, "
        "refit, report, retention, survey-send, ticket-reply." in refused.stderr
    )
    bad = run("worker", "jobs", "--status", "lost", "--workspace", ws)
    assert bad.returncode == 1
    assert "Unknown job status 'lost'" in bad.stderr
