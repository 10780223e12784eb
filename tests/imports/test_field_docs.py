"""docs/import.md lists every field of every import kind, as the code reads them."""

from __future__ import annotations

from pathlib import Path

from soloist.imports.field_help import fields_markdown
from soloist.imports.synonyms import FIELDS

PAGE = Path(__file__).parents[2] / "docs" / "import.md"


def test_the_import_page_holds_the_fields_section_the_code_writes() -> None:
    page = PAGE.read_text(encoding="utf-8")
    section = page.split("<!-- fields:start -->\n")[1].split("<!-- fields:end -->")[0]
    assert section == fields_markdown()
    for kind, fields in FIELDS.items():
        part = section.split(f"**{kind}**")[1].split("\n\n**")[0]
        assert [name for name in fields if f"| `{name}` |" not in part] == []
