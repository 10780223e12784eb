"""``soloist privacy export|erase`` as the contract gives them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.cli.test_backup_cli import run

from soloist.storage.kept import KEPT_FILE


def test_export_then_erase_from_the_command_line(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    assert run("demo", "--customers", "20", "--workspace", str(shop)).returncode == 0
    exported = run("privacy", "export", "3", "--output", str(tmp_path / "c3.zip"),
                   "--workspace", str(shop), "--json")  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["records"]["customers"] == 1
    data = json.loads(zipfile.ZipFile(tmp_path / "c3.zip").read("data.json"))
    email = data["customers"][0]["email"]

    kept = shop / KEPT_FILE  # the overview figures a server kept may name the person
    kept.write_bytes(b"figures naming the customer")
    unasked = run("privacy", "erase", email, "--workspace", str(shop))
    assert unasked.returncode == 1
    assert "--yes" in unasked.stderr
    erased = run("privacy", "erase", email, "--yes", "--workspace", str(shop), "--json")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["customer_ids"] == [3]
    assert not kept.exists()
    gone = run("privacy", "export", email, "--output", str(tmp_path / "x.zip"),
               "--workspace", str(shop))  # fmt: skip
    assert gone.returncode == 1  # the address no longer finds anyone


def test_restoring_a_backup_older_than_an_erasure_erases_the_person_again(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    assert run("demo", "--customers", "20", "--workspace", str(shop)).returncode == 0
    before = tmp_path / "before.backup"
    assert run("backup", "--output", str(before), "--workspace", str(shop)).returncode == 0
    assert run("privacy", "erase", "4", "--yes", "--workspace", str(shop)).returncode == 0
    assert "customer_id" in (shop / "erasures.jsonl").read_text()
    for lost in shop.glob("soloist.db*"):  # the disk is lost; the workspace folder is not
        lost.unlink()
    restored = run("restore", str(before), "--workspace", str(shop))
    assert restored.returncode == 0, restored.stderr
    assert "Erased again" in restored.stderr
    exported = run("privacy", "export", "4", "--output", str(tmp_path / "c4.zip"),
                   "--workspace", str(shop))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    data = json.loads(zipfile.ZipFile(tmp_path / "c4.zip").read("data.json"))
    assert data["customers"][0]["status"] == "erased"
    assert data["customers"][0]["email"] is None


def test_consent_wordings_history_and_retention_from_the_command_line(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    assert run("init", "--workspace", str(shop)).returncode == 0
    words = tmp_path / "words.txt"
    words.write_text("通过电子邮件向我发送新闻。", encoding="utf-8")
    added = run("privacy", "wording", "add", "--channel", "email", "--version", "v1", "--text-file",
                str(words), "--language", "zh-CN", "--workspace", str(shop))  # fmt: skip
    assert added.returncode == 0, added.stderr
    both = run("privacy", "wording", "add", "--channel", "email", "--version", "v2",
               "--text", "x", "--text-file", str(words), "--workspace", str(shop))  # fmt: skip
    assert both.returncode == 1
    assert "not both" in both.stderr
    listed = run("privacy", "wording", "list", "--workspace", str(shop), "--json")
    assert [w["version"] for w in json.loads(listed.stdout)] == ["v1"]

    off = run("privacy", "retention", "--workspace", str(shop))
    assert off.returncode == 1
    assert "No retention policy" in off.stderr
    env = {"SOLOIST_RETENTION_INACTIVE_YEARS": "2"}
    early = run("privacy", "retention", "--apply", "--workspace", str(shop), env=env)
    assert early.returncode == 1
    assert "previewed" in early.stderr
    dry = run("privacy", "retention", "--workspace", str(shop), "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    applied = run("privacy", "retention", "--apply", "--workspace", str(shop), env=env)
    assert applied.returncode == 0, applied.stderr
    assert "Erased 0 inactive customers" in applied.stdout
