"""Country codes: the ISO 3166 alpha-2 codes Soloist accepts (from CLDR, through Babel)."""

from __future__ import annotations

from functools import lru_cache

# Codes CLDR lists among territories that are not ISO 3166 countries (XK, Kosovo, is kept).
_NOT_COUNTRIES = frozenset(
    ("AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ")
)


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166 alpha-2 codes (from CLDR, through Babel)."""
    from babel import Locale

    codes = {str(code) for code in Locale.parse("en").territories}
    return frozenset(c for c in codes if len(c) == 2 and c.isalpha()) - _NOT_COUNTRIES


def check_country(code: str) -> str:
    """``code`` as an upper-case ISO 3166 alpha-2 code; ``ValueError`` naming it otherwise."""
    text = code.strip().upper()
    if text not in country_codes():
        hint = " (the United Kingdom is GB)" if text == "UK" else ""
        raise ValueError(
            f"{code.strip()!r} is not an ISO 3166 two-letter country code such as GB, US or "
            f"CN{hint}"
        )
    return text
