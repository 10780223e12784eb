"""The command line as a user runs it: through the installed ``soloist`` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from soloist.cli.common import Common, shared_options
from soloist.storage.crypto import generate_master_key


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    environment = {**os.environ, **(env or {})}
    environment.pop("SOLOIST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    result = run("init", "--workspace", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


def test_init_creates_key_config_and_database(workspace: Path) -> None:
    key = workspace / "master.key"
    assert key.exists()
    assert (key.stat().st_mode & 0o777) == 0o600
    assert (workspace / "soloist.toml").exists()
    again = run("init", "--workspace", str(workspace), "--json")
    assert again.returncode == 0
    report = json.loads(again.stdout)
    assert report["created_key"] is False
    assert report["previous_revision"] == report["revision"]


def test_status_json_has_the_contract_keys(workspace: Path) -> None:
    result = run("status", "--workspace", str(workspace), "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["customers"], status["orders"], status["order_lines"]) == (0, 0, 0)
    assert status["revenue"] == "0.00"


def test_user_add_and_token_create(workspace: Path) -> None:
    added = run(
        "user",
        "add",
        "me@example.com",
        "--role",
        "owner",
        "--password-stdin",
        "--workspace",
        str(workspace),
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    token = run(
        "token", "create", "me@example.com", "--scope", "write", "--workspace", str(workspace)
    )
    assert token.returncode == 0, token.stderr
    assert token.stdout.count("\n") == 1
    assert token.stdout.strip().startswith("sol_")
    unknown = run("token", "create", "who@example.com", "--workspace", str(workspace))
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("Error: No user who@example.com")


def test_users_are_listed_demoted_disabled_and_the_last_owner_is_kept(workspace: Path) -> None:
    ws = ("--workspace", str(workspace))
    for email, role in (("me@example.com", "owner"), ("ana@example.com", "staff")):
        added = run("user", "add", email, "--role", role, "--password-stdin", *ws,
                    stdin="a long enough password\n")  # fmt: skip
        assert added.returncode == 0, added.stderr
    assert run("user", "role", "ana@example.com", "readonly", *ws).returncode == 0
    assert run("user", "disable", "ana@example.com", *ws).returncode == 0
    listed = json.loads(run("user", "list", "--json", *ws).stdout)
    assert [(u["email"], u["role"], u["active"]) for u in listed] == [
        ("me@example.com", "owner", True),
        ("ana@example.com", "readonly", False),
    ]
    refused = run("user", "role", "me@example.com", "staff", *ws)
    assert refused.returncode == 1
    assert "needs an owner" in refused.stderr
    assert run("user", "disable", "me@example.com", *ws).returncode == 1
    reset = run("user", "reset-password", "ana@example.com", "--password-stdin", *ws,
                stdin="short\n")  # fmt: skip
    assert reset.returncode == 1
    assert "at least 10 characters" in reset.stderr


def test_a_short_password_is_refused_with_exit_1(workspace: Path) -> None:
    result = run(
        "user",
        "add",
        "me@example.com",
        "--password-stdin",
        "--workspace",
        str(workspace),
        stdin="short\n",
    )
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_prints_a_summary_and_fills_the_workspace(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = run(
        "demo",
        "--customers",
        "60",
        "--end-date",
        "2026-01-31",
        "--workspace",
        str(folder),
        "--json",
        env={"SOLOIST_DEMO_PASSWORD": "demo password 1"},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["customers"] == 60
    assert summary["orders"] >= 60
    status = json.loads(run("status", "--workspace", str(folder), "--json").stdout)
    assert status["orders"] == summary["orders"]
    assert status["revenue"] == summary["revenue"]


def test_db_option_points_at_another_database(tmp_path: Path) -> None:
    folder, other = tmp_path / "ws", tmp_path / "elsewhere.db"
    key = {"SOLOIST_MASTER_KEY": generate_master_key()}
    assert (
        run("init", "--workspace", str(folder), "--db", f"sqlite:///{other}", env=key).returncode
        == 0
    )
    assert other.exists()
    assert not (folder / "soloist.db").exists()
    status = run(
        "status", "--workspace", str(folder), "--db", f"sqlite:///{other}", "--json", env=key
    )
    assert status.returncode == 0, status.stderr


def test_a_workspace_that_was_never_initialised_gets_a_clear_error(tmp_path: Path) -> None:
    result = run("status", "--workspace", str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert "soloist init" in result.stderr


def test_analyze_json_prints_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    built = run(
        "demo",
        "--customers",
        "150",
        "--end-date",
        "2026-03-31",
        "--workspace",
        str(folder),
        "--json",
    )
    assert built.returncode == 0, built.stderr
    result = run("analyze", "--workspace", str(folder), "--json", "--clv-only")
    assert result.returncode == 0, result.stderr
    model_run = json.loads(result.stdout)
    assert model_run["status"] == "succeeded"
    assert 140 <= model_run["metrics"]["customers"] <= 150  # buyers with a paid order
    assert {"r", "alpha", "a", "b"} == set(model_run["params"]["purchase"])
    refused = run("analyze", "--workspace", str(folder), "--model", "nonsense")
    assert refused.returncode == 2  # bad usage
    assert refused.stderr.startswith("Error: Unknown model")


def test_analyze_also_segments_and_scores_churn(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    built = run(
        "demo", "--customers", "400", "--end-date", "2026-03-31", "--workspace", str(folder)
    )
    assert built.returncode == 0, built.stderr
    result = run("analyze", "--workspace", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    followers = json.loads(result.stdout)["followed_by"]
    assert [(f["kind"], f["status"]) for f in followers] == [
        ("segments", "succeeded"),
        ("churn", "succeeded"),
    ]


def test_the_command_line_starts_without_the_model_libraries() -> None:
    """Every command pays for what it imports at start: scikit-learn, SciPy's statistics and
    matplotlib load only in the commands that fit models."""
    code = (
        "import sys, soloist.cli.main; "
        "print(sorted(m for m in ('sklearn', 'scipy.stats', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_help_names_every_model_and_segment_method() -> None:
    from soloist.cli.analyze import MODEL_NAMES
    from soloist.cli.segments import METHOD_NAMES
    from soloist.domain.scoring.clv import PURCHASE_MODELS
    from soloist.domain.scoring.segments import SEGMENT_METHODS

    assert tuple(PURCHASE_MODELS) == MODEL_NAMES
    assert METHOD_NAMES == SEGMENT_METHODS


def _commands() -> dict[str, click.Command]:
    """Every command and group callback of ``soloist``, by its full name."""
    from soloist.cli.main import app

    found: dict[str, click.Command] = {}

    def walk(command: click.Command, name: str) -> None:
        found[name] = command
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                walk(sub, f"{name} {sub_name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def test_every_workspace_command_takes_workspace_and_db_and_json_where_it_prints() -> None:
    without_json = {"serve", "token create"}  # serve prints nothing; a token prints alone
    outside = {"", "user", "token", "loyalty", "customers"}  # groups without a callback
    for name, command in _commands().items():
        if name in outside:
            continue
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"--workspace", "-w", "--db"} <= options, name
        assert ("--json" in options) == (name not in without_json), name
        envvars = {param.name: getattr(param, "envvar", None) for param in command.params}
        assert envvars["workspace"] == "SOLOIST_WORKSPACE", name
        assert envvars["db"] == "SOLOIST_DATABASE_URL", name


def test_shared_options_work_before_and_after_the_command_arguments(workspace: Path) -> None:
    before = run("customers", "merge", "--workspace", str(workspace), "--json", "1", "2")
    after = run("customers", "merge", "1", "2", "--json", "--workspace", str(workspace))
    for result in (before, after):
        assert result.returncode == 1  # the workspace was found: customer 1 does not exist
        assert result.stderr.startswith("Error: No customer with id")


def test_bad_usage_exits_2_without_a_traceback(workspace: Path) -> None:
    for args in (
        ("analyze", "--end-date", "31/03/2026"),
        ("loyalty", "report", "--method", "median"),
        ("loyalty", "expire", "--now", "yesterday"),
    ):
        result = run(*args, "--workspace", str(workspace))
        assert result.returncode == 2, args
        assert "Invalid value" in result.stderr, args
        assert "Traceback" not in result.stderr, args


def test_a_command_without_common_refuses_the_shared_options_decorator() -> None:
    def no_common(limit: int = 1) -> None:
        return None

    def own_db(common: Common, db: str = "") -> None:
        return None

    with pytest.raises(TypeError, match="common: Common"):
        shared_options(no_common)
    with pytest.raises(TypeError, match="db"):
        shared_options(own_db)
