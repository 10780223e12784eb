"""Campaign templates: Jinja2 in a sandbox, an HTML part and a plain-text part.

The sandbox (``ImmutableSandboxedEnvironment``) refuses attribute access to Python internals
and any method that changes a value, and the context holds only plain dicts, strings and numbers
(:mod:`soloist.domain.campaigns.personal`), so a template sees the offered fields and nothing
else. An unknown field is an error (``StrictUndefined``), not an empty string in 1,000 e-mails.
Every error names the part and the line.
"""

from __future__ import annotations

import html
import re
import traceback
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from soloist.errors import TemplateError

PARTS = ("subject", "html", "text")

_ENVIRONMENTS: dict[bool, ImmutableSandboxedEnvironment] = {}


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _ENVIRONMENTS.get(autoescape)
    if env is None:
        env = ImmutableSandboxedEnvironment(
            undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True
        )
        _ENVIRONMENTS[autoescape] = env
    return env


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str | None
    text: str


class CompiledContent:
    """The three templates of one language's version, compiled once for a whole send."""

    def __init__(self, subject: str, html_body: str | None, text_body: str | None) -> None:
        self.subject = _compile("subject", subject, autoescape=False)
        self.html = _compile("html", html_body, autoescape=True) if html_body else None
        self.text = _compile("text", text_body, autoescape=False) if text_body else None

    def render(self, context: dict[str, Any]) -> RenderedMessage:
        subject = " ".join(_render("subject", self.subject, context).split())
        html_part = _render("html", self.html, context) if self.html is not None else None
        if self.text is not None:
            text_part = _render("text", self.text, context)
        elif html_part is not None:
            text_part = html_to_text(html_part)
        else:
            text_part = ""
        return RenderedMessage(subject=subject, html=html_part, text=text_part)


def _compile(part: str, source: str, *, autoescape: bool) -> Any:
    try:
        return _environment(autoescape).from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"The {part} template has an error on line {exc.lineno}: {exc.message}",
            part=part,
            line=exc.lineno,
        ) from exc


def _render(part: str, template: Any, context: dict[str, Any]) -> str:
    try:
        return str(template.render(context))
    except (JinjaTemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
        line = _template_line(exc)
        where = f" on line {line}" if line else ""
        raise TemplateError(
            f"The {part} template fails{where}: {exc}", part=part, line=line
        ) from exc


def _template_line(exc: BaseException) -> int | None:
    """The template line of an error raised while rendering: Jinja rewrites its traceback so
    that the template's own frames carry the template's line numbers."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename == "<template>"
    ]
    return lines[-1] if lines else None


def check_templates(subject: str, html_body: str | None, text_body: str | None) -> None:
    """Compile the three parts (a syntax error raises :class:`TemplateError` with its line)."""
    if not subject.strip():
        raise TemplateError("A campaign needs a subject.", part="subject", line=None)
    if not (html_body or "").strip() and not (text_body or "").strip():
        raise TemplateError("A campaign needs a body.", part="html", line=None)
    CompiledContent(subject, html_body, text_body)


_BLOCK_END = re.compile(r"(?i)</(p|div|h[1-6]|li|tr|table|blockquote)>|<br\s*/?>")
_LINK = re.compile(r'(?is)<a\b[^>]*\bhref\s*=\s*["\']([^"\']+)["\'][^>]*>(.*?)</a>')
_TAG = re.compile(r"(?s)<[^>]+>")
_HIDDEN = re.compile(r"(?is)<(style|script|head)\b.*?</\1>")


def html_to_text(markup: str) -> str:
    """A readable plain-text part from the HTML one: paragraphs kept, links written out."""

    def link(match: re.Match[str]) -> str:
        label = _TAG.sub("", match.group(2)).strip()
        url = html.unescape(match.group(1))
        return url if not label or label == url else f"{label} ({url})"

    text = _HIDDEN.sub("", markup)
    text = _LINK.sub(link, text)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def looks_like_html(source: str) -> bool:
    """Whether a body file is HTML (it has tags) rather than plain text."""
    return bool(re.search(r"(?i)<(p|div|br|a|html|body|table|h[1-6]|span|strong|em|ul)\b", source))


def text_to_html(source: str) -> str:
    """An HTML template from a plain-text one: paragraphs, with the text escaped by the
    template's autoescape (so the ``{{ }}`` fields stay fields). Every line stays on its line,
    so an error in the HTML part names the line of the text the owner wrote."""
    pieces = re.split(r"(\n[ \t]*\n\s*)", source)
    made = []
    for index, piece in enumerate(pieces):
        text = piece.strip()
        if index % 2 or not text:  # a blank-line separator, or nothing but space
            made.append("\n" * piece.count("\n"))
            continue
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(piece.rstrip()) :]
        paragraph = "<p>" + text.replace("\n", "<br>\n") + "</p>"
        made.append("\n" * lead.count("\n") + paragraph + "\n" * trail.count("\n"))
    result = "".join(made)
    return result if result.strip() else ""
