"""The catalogues hold exactly what Babel extracts from the web app, and every message has a
Simplified Chinese translation; no page builds a message id at render time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from jinja2 import nodes

import soloist.web
from soloist.web.i18n import LOCALE_DIR, Translator, negotiate_locale, translations
from soloist.web.labels import ORDER_STATUSES, REFERRAL_STATUSES, TABLES, TICKET_STATUSES
from soloist.web.rendering import templates
from tests.web.conftest import extracted_messages

WEB_DIR = Path(soloist.web.__file__).parent


def catalogue(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def entries(catalog: Catalog) -> dict[tuple[str | None, str], tuple[str, ...]]:
    found = {}
    for message in catalog:
        if message.id:
            forms = (message.id,) if isinstance(message.id, str) else tuple(message.id)
            found[(message.context, forms[0])] = forms
    return found


def test_babel_finds_the_messages_of_templates_labels_and_page_modules() -> None:
    found = extracted_messages()
    assert len(found) > 300
    assert (None, "Customers") in found  # a template
    assert (None, "By churn risk") in found  # labels.py, through N_
    assert ("ticket status", "pending") in found  # labels.py, through NP_
    assert found[(None, "%(num)s customer")] == ("%(num)s customer", "%(num)s customers")
    assert (None, "last order %(value)s ago (typical: %(typical)s)") in found  # wording.py


def test_every_extracted_message_has_a_chinese_translation() -> None:
    chinese = catalogue("zh_Hans")
    untranslated = []
    for (context, msgid), forms in extracted_messages().items():
        message = chinese.get(forms if len(forms) > 1 else msgid, context=context)
        string = "" if message is None else message.string
        strings = (string,) if isinstance(string, str) else tuple(string or ())
        if message is None or message.fuzzy or not strings or not all(strings):
            untranslated.append(msgid)
    assert untranslated == []


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_a_catalogue_holds_exactly_the_extracted_messages(locale: str) -> None:
    held = entries(catalogue(locale))
    extracted = extracted_messages()
    assert sorted(set(held) - set(extracted), key=str) == []  # stale: no code uses them
    assert sorted(set(extracted) - set(held), key=str) == []
    assert all(held[key] == extracted[key] for key in held)  # same plural forms
    text = (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert "\n#~" not in text  # no obsolete entries


def test_the_template_is_what_babel_extracts_today() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    assert entries(template) == extracted_messages()


def _calls(node: nodes.Node, name: str) -> Iterator[nodes.Call]:
    for call in node.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == name:
            yield call


def test_templates_translate_literal_messages_or_labels_only() -> None:
    """``_("sort:" ~ s)`` or ``_(s.name)`` would give a message no catalogue can hold."""
    allowed_variables = {"label"}  # the loyalty effect macro's argument, from labels.py
    offenders = []
    for name in templates.env.list_templates(extensions=["html"]):
        source = templates.env.loader.get_source(templates.env, name)[0]  # type: ignore[union-attr]
        tree = templates.env.parse(source)
        for call in [*_calls(tree, "_"), *_calls(tree, "ngettext")]:
            for arg in call.args[:2] if call.node.name == "ngettext" else call.args[:1]:  # type: ignore[attr-defined]
                literal = isinstance(arg, nodes.Const) and isinstance(arg.value, str)
                label = (
                    isinstance(arg, nodes.Getitem)
                    and isinstance(arg.node, nodes.Name)
                    and arg.node.name in TABLES
                )
                variable = isinstance(arg, nodes.Name) and arg.name in allowed_variables
                if not (literal or label or variable):
                    offenders.append(f"{name}:{call.lineno}")
    assert offenders == []


def test_the_catalog_compiles_in_memory() -> None:
    chinese = translations("zh_Hans")
    assert chinese.gettext("Customers") == "客户"
    assert chinese.ngettext("%(num)s customer", "%(num)s customers", 3) == "%(num)s 位客户"


def test_english_has_a_catalogue_of_its_own_with_english_plurals() -> None:
    english = catalogue("en")
    assert english.plural_forms == "nplurals=2; plural=(n != 1);"
    translator = Translator("en")
    assert translator.ngettext("%(num)s customer", "%(num)s customers", 1) == "%(num)s customer"
    assert translator.ngettext("%(num)s customer", "%(num)s customers", 0) == "%(num)s customers"
    assert translator.gettext(TABLES["SORT_LABELS"]["risk"]) == "By churn risk"


def test_an_ambiguous_word_is_translated_in_its_sense() -> None:
    chinese = Translator("zh_Hans")
    senses = {
        chinese.gettext(ORDER_STATUSES["pending"]),
        chinese.gettext(TICKET_STATUSES["pending"]),
        chinese.gettext(REFERRAL_STATUSES["pending"]),
    }
    assert len(senses) == 3
    assert "pending" not in senses
    assert Translator("en").gettext(TICKET_STATUSES["pending"]) == "pending"


def test_a_value_no_table_knows_is_shown_as_it_is() -> None:
    chinese = Translator("zh_Hans")
    assert chinese.gettext(ORDER_STATUSES["paid"]) == "已付款"
    assert chinese.gettext(ORDER_STATUSES["Customers"]) == "Customers"  # not looked up


def test_accept_language_picks_the_best_supported_language() -> None:
    assert negotiate_locale("zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert negotiate_locale("fr-FR,en;q=0.5,zh;q=0.4") == "en"
    assert negotiate_locale("de-DE", default="zh_Hans") == "zh_Hans"
    assert negotiate_locale("en;q=0.1,zh-TW;q=0.9") == "zh_Hans"
    assert negotiate_locale(None) == "en"
