"""English and Simplified Chinese: gettext catalogs, the request's locale, and Babel formatting.

Message ids are the English text. ``locale/messages.pot`` is what ``pybabel extract -F babel.cfg``
finds in the templates and page modules; ``locale/<locale>/LC_MESSAGES/messages.po`` holds each
language's catalogue (English too: its entries are empty, so the English text is the msgid, but
it declares English plural forms and is kept in step like any other). Catalogues are compiled in
memory when first used (Babel's ``read_po`` then ``write_mo``), so no build step can leave a
stale ``.mo``. The locale is the user's choice (``users.locale``, or the session before sign-in),
else the browser's ``Accept-Language``, else the workspace default.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

from soloist.web.labels import Contextual, Verbatim

LOCALES = ("en", "zh_Hans")
LOCALE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
LOCALE_DIR = Path(__file__).parent / "locale"
# Babel needs a territory for currency symbols and number patterns.
BABEL_LOCALES = {"en": "en_US", "zh_Hans": "zh_Hans_CN"}


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``locale``; none (the msgids as they are) for an unknown one."""
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=Locale.parse(locale))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """``gettext`` for the pages: labels with a context go through ``pgettext``, and a value no
    label table knows (:class:`~soloist.web.labels.Verbatim`) is shown as it is."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.catalog = translations(locale)

    def gettext(self, message: str) -> str:
        if isinstance(message, Verbatim):
            return str(message)
        if isinstance(message, Contextual):
            return self.catalog.pgettext(message.context, str(message))
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)


def normalise_locale(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans`` … → ``zh_Hans``; ``en-GB`` → ``en``; unknown → None."""
    if not value:
        return None
    tag = value.strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_Hans"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate_locale(accept_language: str | None, default: str = "en") -> str:
    """The best of our locales for an ``Accept-Language`` header."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        quality = 1.0
        for param in pieces[1:]:
            if param.strip().startswith("q="):
                try:
                    quality = float(param.strip()[2:])
                except ValueError:
                    quality = 0.0
        locale = normalise_locale(pieces[0])
        if locale and quality > 0:
            choices.append((-quality, index, locale))
    return sorted(choices)[0][2] if choices else (normalise_locale(default) or "en")


class Formatter:
    """Numbers, money, percentages and dates in one locale and time zone."""

    def __init__(self, locale: str, timezone: str = "UTC") -> None:
        self.locale = locale
        self.babel_locale = BABEL_LOCALES.get(locale, "en_US")
        self.tz = ZoneInfo(timezone)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.babel_locale)

    def money(self, amount: Decimal | float | int | None, currency: str) -> str:
        if amount is None:
            return "—"
        return format_currency(amount, currency, locale=self.babel_locale)

    def percent(self, share: float | None, digits: int = 1) -> str:
        if share is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(share, format=pattern, locale=self.babel_locale)

    def duration(self, days: float | None) -> str:
        """A span of days in words: ``3`` → "3 days" / "3天", ``75`` → "2 months" / "2个月"."""
        if days is None:
            return "—"
        span = dt.timedelta(days=max(float(days), 0.0))
        return format_timedelta(span, granularity="day", locale=self.babel_locale)

    def join(self, items: list[str]) -> str:
        """``a, b, and c`` / ``a、b和c``."""
        return format_list(items, style="standard", locale=self.babel_locale) if items else ""

    def date(self, value: dt.datetime | dt.date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, format="medium", locale=self.babel_locale)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return "—"
        return format_datetime(value, format="medium", tzinfo=self.tz, locale=self.babel_locale)
