"""Templates: the sandbox, errors that name their line, the parts, links and tokens."""

from __future__ import annotations

import pytest

from soloist.domain.campaigns.links import CLICK, UNSUBSCRIBE, LinkSigner, rewrite_links
from soloist.domain.campaigns.personal import campaign_language, first_name_of
from soloist.domain.campaigns.templates import CompiledContent, check_templates, html_to_text
from soloist.errors import TemplateError

CUSTOMER = {"name": "Ada <Lovelace>", "first_name": "Ada", "points": 120}


def test_fields_render_and_html_is_escaped_but_text_is_not() -> None:
    content = CompiledContent(
        "Hi {{ customer.first_name }}", "<p>{{ customer.name }}: {{ customer.points }}</p>", None
    )
    rendered = content.render({"customer": CUSTOMER})
    assert rendered.subject == "Hi Ada"
    assert rendered.html == "<p>Ada &lt;Lovelace&gt;: 120</p>"
    assert rendered.text == "Ada <Lovelace>: 120\n"


def test_a_syntax_error_names_its_part_and_line() -> None:
    with pytest.raises(TemplateError) as caught:
        check_templates("Hi", "<p>one</p>\n<p>two</p>\n{% if customer.points %}", None)
    assert caught.value.details == {"part": "html", "line": 3}
    assert "line 3" in caught.value.message


def test_an_unknown_field_fails_with_its_line_instead_of_sending_a_gap() -> None:
    content = CompiledContent("Hi", None, "Hello\n{{ customer.nickname }}")
    with pytest.raises(TemplateError) as caught:
        content.render({"customer": CUSTOMER})
    assert caught.value.details == {"part": "text", "line": 2}
    assert "nickname" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ customer.__class__.__mro__ }}",
        "{{ customer.name.__class__ }}",
        "{{ customer.update({'points': 1}) }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
    ],
)
def test_the_sandbox_refuses_python_internals_and_changes(source: str) -> None:
    with pytest.raises(TemplateError):
        CompiledContent("Hi", None, source).render({"customer": dict(CUSTOMER)})


def test_the_text_part_made_from_html_keeps_paragraphs_and_writes_out_links() -> None:
    text = html_to_text(
        "<html><head><style>p{}</style></head><body><p>Hello &amp; welcome</p>"
        '<p>See <a href="https://x.example/a?b=1&amp;c=2">the shop</a></p></body></html>'
    )
    assert text == "Hello & welcome\nSee the shop (https://x.example/a?b=1&c=2)\n"


def test_links_are_rewritten_except_the_unsubscribe_link() -> None:
    html, text = rewrite_links(
        '<a href="https://shop.example/x?a=1&amp;b=2">x</a> <a href="https://crm.example/u/T">u</a>',
        "Go to https://shop.example/x?a=1&b=2 or https://crm.example/u/T",
        lambda url: f"https://crm.example/c/{len(url)}",
        "https://crm.example/u/",
    )
    assert (
        html == '<a href="https://crm.example/c/30">x</a> <a href="https://crm.example/u/T">u</a>'
    )
    assert text == "Go to https://crm.example/c/30 or https://crm.example/u/T"


def test_a_token_names_only_what_it_was_made_for() -> None:
    signer = LinkSigner(b"k" * 32, "https://crm.example")
    token = signer.token(UNSUBSCRIBE, 41)
    assert signer.read(UNSUBSCRIBE, token) == [41]
    assert signer.read(CLICK, token) is None  # another purpose
    assert signer.read(UNSUBSCRIBE, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert LinkSigner(b"x" * 32, "https://crm.example").read(UNSUBSCRIBE, token) is None
    assert signer.read(CLICK, signer.token(CLICK, 41, 7)) == [41, 7]


def test_languages_and_first_names() -> None:
    assert [campaign_language(x) for x in ("zh", "zh_Hans", "ZH-cn", "en", None, "fr")] == [
        "zh-CN",
        "zh-CN",
        "zh-CN",
        "en",
        "en",
        "en",
    ]
    assert first_name_of("Ada Lovelace") == "Ada"
    assert first_name_of("王小明") == "王小明"
    assert first_name_of("") == ""
