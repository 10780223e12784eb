"""Reading a country cell strictly: a real country, no country at all, or a refusal.

:func:`soloist.imports.values.parse_country` reads codes and the English and Chinese names;
here the names people also write are added — the country's name in 30 languages (``Polska``,
``Türkiye``, ``Россия``), the usual short forms (``Hong Kong``, ``Turkey``, ``Holland``,
``UAE``), ``&`` for "and", ``St`` for "Saint", accents left out — so that a cell that is still
not a country (``Narnia``, ``XX``, ``12345``) can be refused as a typing or column mistake.
A cell that names no one country (``Unspecified``, ``European Community``, ``Channel Islands``,
as in the UCI Online Retail log) is read as no country.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from soloist.countries import country_codes
from soloist.imports.raw import shown
from soloist.imports.values import parse_country

# The languages whose names of countries are read (CLDR, through Babel).
NAME_LOCALES = (
    "en",
    "en_GB",
    "zh_Hans",
    "zh_Hant",
    "de",
    "fr",
    "es",
    "pt",
    "it",
    "nl",
    "pl",
    "sv",
    "nb",
    "da",
    "fi",
    "ru",
    "ja",
    "ko",
    "tr",
    "cs",
    "el",
    "hu",
    "ro",
    "id",
    "ms",
    "th",
    "vi",
    "ar",
    "he",
    "uk",
)
# Short and former names the CLDR names miss.
MORE_NAMES = {
    "turkey": "TR",
    "hong kong": "HK",
    "hongkong": "HK",
    "macau": "MO",
    "macao": "MO",
    "palestine": "PS",
    "ivory coast": "CI",
    "burma": "MM",
    "macedonia": "MK",
    "swaziland": "SZ",
    "holland": "NL",
    "republic of ireland": "IE",
    "uae": "AE",
    "bosnia": "BA",
    "vatican": "VA",
    "vatican city": "VA",
    "east timor": "TL",
    "britain": "GB",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of the congo": "CD",
    "republic of the congo": "CG",
    "russian federation": "RU",
    "slovak republic": "SK",
    "republic of korea": "KR",
}
# Cells that name no one country: read as no country (counted in a note), not refused.
NO_ONE_COUNTRY = frozenset(
    (
        "",
        "unspecified",
        "not specified",
        "unknown",
        "n a",
        "none",
        "other",
        "others",
        "european community",
        "european union",
        "eu",
        "channel islands",
        "west indies",
        "未知",
        "其他",
        "不详",
    )
)


def country_key(text: str) -> str:
    """``"St. Kitts & Nevis"`` → ``"saint kitts and nevis"``; ``"Curaçao"`` → ``"curacao"``."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = re.sub(r"[^\w]+", " ", plain.replace("&", " and ")).split()
    if words[:1] == ["the"]:
        words = words[1:]
    return " ".join("saint" if word == "st" else word for word in words)


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    from babel import Locale

    codes = country_codes()
    names: dict[str, str] = {}
    for locale in NAME_LOCALES:
        for code, name in Locale.parse(locale).territories.items():
            if code in codes:
                names.setdefault(country_key(name), code)
    names.update(MORE_NAMES)
    return names


@lru_cache(maxsize=4096)
def read_country(text: str) -> str | None:
    """The ISO 3166 code of a country cell (a code, or a name in one of
    :data:`NAME_LOCALES`); None for a cell that names no one country; ``ValueError`` for any
    other."""
    key = country_key(text)
    if key in NO_ONE_COUNTRY:
        return None
    try:
        code: str | None = parse_country(text)
    except ValueError:
        code = None
    code = "GB" if code == "UK" else code
    if code not in country_codes():
        code = MORE_NAMES.get(key) or _names().get(key)  # the names of 30 languages: 0.2 s
    if code is None:
        raise ValueError(
            f"unknown country {shown(text)} (use a country's name, or its ISO code such as GB "
            "or CN)"
        )
    return code
