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


def test_every_module_the_architecture_page_names_exists() -> None:
    """docs/architecture.md tells a newcomer where a change goes: its paths must be real."""
    import re

    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    package = ROOT / "src" / "soloist"
    named = set(re.findall(r"`((?:[a-z_]+/)+[a-z_]*(?:\.py|\.html)?)`", page))
    named |= {f"{m}.py" for m in re.findall(r"`([a-z_]+)\.py`", page)}
    assert len(named) > 30
    missing = []
    for path in sorted(named):
        if path.startswith(("tests/", "docs/")):
            candidates = [ROOT / path]
        else:
            candidates = [package / path, package / "domain" / path, package / "web" / path]
            candidates += [package / sub / path for sub in ("storage", "imports", "analytics")]
            candidates += [package / "domain" / sub / path for sub in ("customers", "loyalty")]
            candidates += [package / "domain" / sub / path for sub in ("imports", "scoring")]
            candidates += [package / "demo" / path, package / "imports" / "formats" / path]
        if not any(c.exists() for c in candidates):
            missing.append(path)
    assert missing == []
