"""Every English string of the web app has a Simplified Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

import soloist.web
from soloist.web.i18n import LOCALE_DIR, negotiate_locale, translations

WEB_DIR = Path(soloist.web.__file__).parent
STRING = re.compile(r"""(?<![\w.])_\(\s*("([^"]*)"|'([^']*)')\s*\)""")


def source_strings() -> set[str]:
    found: set[str] = set()
    for path in [*WEB_DIR.glob("templates/**/*.html"), *WEB_DIR.glob("*.py")]:
        for match in STRING.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(2) if match.group(2) is not None else match.group(3))
    return found


def test_every_string_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string}
    strings = source_strings()
    assert len(strings) > 100
    assert sorted(strings - translated) == []


def test_the_catalog_compiles_in_memory() -> None:
    chinese = translations("zh_Hans")
    assert chinese.gettext("Customers") == "客户"
    assert chinese.ngettext("%(num)s customer", "%(num)s customers", 3) == "%(num)s 位客户"


def test_accept_language_picks_the_best_supported_language() -> None:
    assert negotiate_locale("zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert negotiate_locale("fr-FR,en;q=0.5,zh;q=0.4") == "en"
    assert negotiate_locale("de-DE", default="zh_Hans") == "zh_Hans"
    assert negotiate_locale("en;q=0.1,zh-TW;q=0.9") == "zh_Hans"
    assert negotiate_locale(None) == "en"
