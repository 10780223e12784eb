"""The documentation stays true to the code."""

from __future__ import annotations

from pathlib import Path

from soloist.config import Settings

ROOT = Path(__file__).parent.parent


def test_every_setting_is_documented() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`{name}`" not in page]
    assert missing == []


def test_every_setting_has_help_text() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
