"""`soloist serve` keeps the overview pages' figures across a restart: what the last run worked
out is shown at once after the next start, marked as being updated when the data changed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from soloist.config import load_settings
from soloist.domain import campaigns, dashboard, journeys, loyalty, reports  # noqa: F401
from soloist.storage.caches import clear_all_caches, kept_caches
from soloist.storage.database import Database
from soloist.storage.kept import KEPT_FILE, load_kept_figures

pytestmark = pytest.mark.slow

SOLOIST = [sys.executable, "-m", "soloist"]
PASSWORD = "kept figures password"
OVERVIEWS = ("/", "/reports", "/loyalty", "/journeys", "/campaigns", "/customers?sort=name")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _soloist(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([*SOLOIST, *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"soloist {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "workspace"
    env = {**os.environ, "SOLOIST_WORKSPACE": str(folder), "SOLOIST_DEMO_PASSWORD": PASSWORD}
    env.pop("SOLOIST_DATABASE_URL", None)
    _soloist("demo", "--customers", "200", "--end-date", "2026-06-30", "--json", env=env)
    return folder, env


class Served:
    def __init__(self, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [*SOLOIST, "serve", "--port", port, "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    pytest.fail(f"soloist serve did not start:\n{self.process.communicate()[1]}")
                time.sleep(0.2)
        self.client = httpx.Client(base_url=self.url, timeout=120)
        login = self.client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token
        signed_in = self.client.post(
            "/login",
            data={
                "email": "owner@example.com",
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/",
            },
            follow_redirects=True,
        )
        assert signed_in.status_code == 200

    def stop(self, how: signal.Signals) -> str:
        """Stop it as a service manager does (SIGTERM) or as Ctrl-C does (SIGINT)."""
        self.client.close()
        self.process.send_signal(how)
        _, stderr = self.process.communicate(timeout=60)
        return stderr


@pytest.fixture
def serve() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.communicate()


def test_a_restart_shows_the_last_runs_figures_at_once_marked_while_updated(
    workspace: tuple[Path, dict[str, str]], serve: list[Served]
) -> None:
    folder, env = workspace
    first = Served(env)
    serve.append(first)
    for page in OVERVIEWS:  # each page works its figures out (or waits for the warm-up's)
        assert first.client.get(page).status_code == 200, page
    first.stop(signal.SIGTERM)  # as systemd or docker stop it: uvicorn re-raises the signal
    kept_file = folder / KEPT_FILE
    assert kept_file.exists()

    database = Database(load_settings(workspace=folder, environ=env))
    clear_all_caches()
    try:
        assert load_kept_figures(kept_file, database.keyring, database.url) >= len(OVERVIEWS)
        holding = {name for name, cache in kept_caches().items() if cache.snapshot()}
    finally:
        database.dispose()
        clear_all_caches()
    assert {"dashboards", "reports", "loyalty reports", "journey effects"} <= holding
    assert {"campaign figures", "customer name order"} <= holding

    # A customer is added while the server is down: every figure is now out of date.
    late = folder / "late.csv"
    late.write_text("name,email\nLate Comer,late@example.com\n")
    _soloist("import", "customers", str(late), env=env)
    second = Served(env)
    serve.append(second)
    stderr = second.stop(signal.SIGINT)
    assert re.search(r"Figures kept from the last run: \d+", stderr), stderr
