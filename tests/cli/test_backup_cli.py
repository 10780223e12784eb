"""``soloist backup``, ``backup verify`` and ``restore`` as the contract gives them: the
passphrase from SOLOIST_BACKUP_PASSPHRASE, a tampered file refused with exit 1 and nothing
changed, a restore on a new machine that takes the backup's master key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(
    *args: str, passphrase: str = "a good passphrase", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOLOIST_BACKUP_PASSPHRASE": passphrase, **(env or {})}
    env.pop("SOLOIST_MASTER_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_back_up_verify_and_restore_on_a_new_machine(tmp_path: Path) -> None:
    shop, new = tmp_path / "shop", tmp_path / "new-machine"
    built = run("demo", "--customers", "60", "--workspace", str(shop))
    assert built.returncode == 0, built.stderr
    made = run("backup", "--output", str(tmp_path / "b.backup"), "--workspace", str(shop),
               "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["checksums"]["customers"]["rows"] == 60
    assert (tmp_path / "b.backup").stat().st_mode & 0o077 == 0

    assert (
        run("backup", "verify", str(tmp_path / "b.backup"), "--workspace", str(shop)).returncode
        == 0
    )
    wrong = run("backup", "verify", str(tmp_path / "b.backup"), passphrase="a wrong one")
    assert wrong.returncode == 1
    assert "passphrase" in wrong.stderr

    data = bytearray((tmp_path / "b.backup").read_bytes())
    data[-500] ^= 0xFF
    (tmp_path / "tampered.backup").write_bytes(bytes(data))
    refused = run("restore", str(tmp_path / "tampered.backup"), "--workspace", str(new))
    assert refused.returncode == 1
    assert not new.exists()  # nothing changed: not even the folder was made

    restored = run("restore", str(tmp_path / "b.backup"), "--workspace", str(new))
    assert restored.returncode == 0, restored.stderr
    status = json.loads(run("status", "--json", "--workspace", str(new)).stdout)
    original = json.loads(run("status", "--json", "--workspace", str(shop)).stdout)
    assert status == original
    assert (new / "master.key").read_text() == (shop / "master.key").read_text()
