"""English and Simplified Chinese: gettext catalogs, the request's locale, and Babel formatting.

Translations live in ``locale/<locale>/LC_MESSAGES/messages.po`` and are compiled in memory when
first used (Babel's ``read_po`` then ``write_mo``), so no build step can leave a stale ``.mo``.
The locale is the user's choice (``users.locale``, or the session before sign-in), else the
browser's ``Accept-Language``, else the workspace default.
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
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = ("en", "zh_Hans")
LOCALE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
LOCALE_DIR = Path(__file__).parent / "locale"
# Babel needs a territory for currency symbols and number patterns.
BABEL_LOCALES = {"en": "en_US", "zh_Hans": "zh_Hans_CN"}


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog for ``locale`` (English is the source language)."""
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == "en" or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=Locale.parse(locale))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


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
