"""``soloist privacy export|erase`` as the contract gives them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.cli.test_backup_cli import run


def test_export_then_erase_from_the_command_line(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    assert run("demo", "--customers", "20", "--workspace", str(shop)).returncode == 0
    exported = run("privacy", "export", "3", "--output", str(tmp_path / "c3.zip"),
                   "--workspace", str(shop), "--json")  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["records"]["customers"] == 1
    data = json.loads(zipfile.ZipFile(tmp_path / "c3.zip").read("data.json"))
    email = data["customers"][0]["email"]

    unasked = run("privacy", "erase", email, "--workspace", str(shop))
    assert unasked.returncode == 1
    assert "--yes" in unasked.stderr
    erased = run("privacy", "erase", email, "--yes", "--workspace", str(shop), "--json")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["customer_ids"] == [3]
    gone = run("privacy", "export", email, "--output", str(tmp_path / "x.zip"),
               "--workspace", str(shop))  # fmt: skip
    assert gone.returncode == 1  # the address no longer finds anyone
