"""Reading the values people type into spreadsheets: dates, amounts, counts, countries, statuses.

Every function takes the cell's text and returns a typed value or raises :class:`ValueError` with
a message a person can act on; the caller adds the file, row and column.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# Excel serials from 1954 to 2119: a bare number in that range in a date column is a serial.
EXCEL_SERIAL_RANGE = (20_000.0, 80_000.0)

_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_YMD_SLASH = re.compile(
    r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_DMY_OR_MDY = re.compile(
    r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[ T]?(\d{2}):?(\d{2}):?(\d{2})?)?$")
_CHINESE = re.compile(
    r"^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s*(\d{1,2})[:时](\d{2})(?:[:分](\d{2})秒?)?)?$"
)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


def _offset(text: str | None) -> dt.tzinfo | None:
    if not text:
        return None
    if text.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _build(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> dt.datetime:
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro)
    except ValueError as exc:
        raise ValueError(f"not a real date or time ({exc})") from None


@lru_cache(maxsize=65_536)
def _parse_naive(text: str, dayfirst: bool) -> tuple[dt.datetime, str | None]:
    match = _ISO.match(text)
    if match:
        y, mo, d, h, mi, s, frac, tz = match.groups()
        micro = int((frac or "0").ljust(6, "0"))
        return _build(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro), tz
    match = _COMPACT.match(text)
    if match:
        y, mo, d, h, mi, s = match.groups()
        return _build(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)), None
    match = _YMD_SLASH.match(text) or _CHINESE.match(text)
    if match:
        y, mo, d, h, mi, s = match.groups()
        return _build(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)), None
    match = _DMY_OR_MDY.match(text)
    if match:
        a, sep, b, y, h, mi, s, ampm = match.groups()
        year = int(y) + (2000 if int(y) < 70 else 1900) if len(y) == 2 else int(y)
        # 05.01.2024 is always day-first (the German/Russian habit); slashes follow --dayfirst.
        day_first = dayfirst or sep == "."
        day, month = (int(a), int(b)) if day_first else (int(b), int(a))
        hour = int(h or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        return _build(year, month, day, hour, int(mi or 0), int(s or 0)), None
    if _SERIAL.match(text):
        serial = float(text)
        if EXCEL_SERIAL_RANGE[0] <= serial <= EXCEL_SERIAL_RANGE[1]:
            moment = EXCEL_EPOCH + dt.timedelta(days=serial)
            return moment.replace(microsecond=0), None
    raise ValueError(
        f"not a date: {text!r} (use e.g. 2024-01-05, 2024/1/5, 05.01.2024, 20240105 "
        "or an Excel date)"
    )


@lru_cache(maxsize=64)
def _zone(name: str) -> dt.tzinfo:
    if name == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (use e.g. UTC or Asia/Shanghai)") from None


def parse_datetime(text: str, *, dayfirst: bool = False, tz: str = "UTC") -> dt.datetime:
    """A timezone-aware UTC datetime; times without an offset are read in ``tz``."""
    value = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip()
    if not value:
        raise ValueError("the date is empty")
    naive, offset = _parse_naive(value, dayfirst)
    zone = _offset(offset) or _zone(tz)
    if zone is dt.UTC:
        return naive.replace(tzinfo=dt.UTC)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def parse_date(text: str, *, dayfirst: bool = False) -> dt.date:
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        raise ValueError("the date is empty")
    return _parse_naive(value, dayfirst)[0].date()


_CURRENCY_SIGNS = "$€£¥￥₹₩₽₺₪฿₫₴₦₱₡₲₵₸"
_CURRENCY_WORDS = re.compile(
    r"^(?:[A-Z]{3}|US\$|HK\$|NT\$|R\$|元|人民币|RMB)|(?:[A-Z]{3}|元|人民币|RMB)$"
)
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_GROUPED_EU = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_PLAIN = re.compile(r"^\d+(?:\.\d*)?$|^\.\d+$")


@lru_cache(maxsize=65_536)
def parse_amount(text: str) -> Decimal:
    """An exact Decimal from '1,234.50', '$12', '¥1,000', '12,50 €', '(3.00)', '-5', 'EUR 7'."""
    raw = unicodedata.normalize("NFKC", text).strip()
    value = raw.replace("\u00a0", "").replace(" ", "").replace("'", "")
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value.startswith(("-", "−")):
        negative, value = not negative, value[1:]
    elif value.startswith("+"):
        value = value[1:]
    value = value.strip(_CURRENCY_SIGNS)
    value = _CURRENCY_WORDS.sub("", value.upper()).strip(_CURRENCY_SIGNS)
    if value.startswith("-") and not negative:
        negative, value = True, value[1:]
    if not value:
        raise ValueError(f"not an amount: {raw!r}")
    if _GROUPED.match(value):
        value = value.replace(",", "")
    elif _GROUPED_EU.match(value) and "," in value:
        value = value.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d{1,2}", value):
        value = value.replace(",", ".")
    if not _PLAIN.match(value):
        raise ValueError(f"not an amount: {raw!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw!r}") from None
    return -amount if negative else amount


def round_to(amount: Decimal, digits: int) -> tuple[int, bool]:
    """Integer minor units at ``digits`` decimals, and whether rounding changed the value."""
    scaled = amount.scaleb(digits)
    minor = scaled.to_integral_value(rounding=ROUND_HALF_EVEN)
    return int(minor), minor != scaled


def parse_int(text: str) -> int:
    """A whole number ('3', '3.0', '1,200'); refuses fractions."""
    amount = parse_amount(text) if text.strip() else None
    if amount is None or amount != amount.to_integral_value():
        raise ValueError(f"not a whole number: {text.strip()!r}")
    return int(amount)


# The words of an order's status. Chinese shop platforms (Taobao/Tmall, JD, Youzan, Pinduoduo,
# WeChat stores) name the step the order is at: every step after the buyer paid — waiting to be
# shipped (待发货), shipped (已发货), waiting for receipt (待收货), done (交易成功) — is paid; a
# partial refund (部分退款, Shopify's partially_refunded) leaves the order paid with the refunded
# amount beside it; a closed trade (交易关闭) never completed.
_STATUS_WORDS = {
    "paid": (
        "paid",
        "complete",
        "completed",
        "processing",
        "succeeded",
        "success",
        "fulfilled",
        "shipped",
        "delivered",
        "closed",
        "paid_out",
        "captured",
        "partially_refunded",
        "已付款",
        "已支付",
        "已完成",
        "完成",
        "交易成功",
        "交易完成",
        "订单完成",
        "买家已付款",
        "支付成功",
        "付款成功",
        "待发货",
        "等待卖家发货",
        "等待出库",
        "已发货",
        "卖家已发货",
        "待收货",
        "等待买家确认收货",
        "等待确认收货",
        "已收货",
        "已签收",
        "待评价",
        "已评价",
        "部分退款",
        "退款中",
        "售后中",
        "卖家部分发货",
        "买家已付款,等待卖家发货",
        "卖家已发货,等待买家确认",
        "已发货,待签收",
        "待签收",
    ),
    "refunded": ("refunded", "refund", "returned", "已退款", "退款成功", "全额退款", "退款完成"),
    "cancelled": (
        "cancelled",
        "canceled",
        "voided",
        "void",
        "已取消",
        "取消",
        "订单取消",
        "交易关闭",
        "交易自动关闭",
        "订单关闭",
        "已关闭",
        "已作废",
    ),
    "pending": (
        "pending",
        "on-hold",
        "on_hold",
        "authorized",
        "unpaid",
        "partially_paid",
        "open",
        "待付款",
        "待支付",
        "未付款",
        "未支付",
        "等待买家付款",
        "等待付款",
        "待买家付款",
    ),
    "failed": ("failed", "failure", "declined", "expired", "失败", "支付失败"),
}
STATUS_SYNONYMS = {word: status for status, words in _STATUS_WORDS.items() for word in words}
ORDER_STATUSES = tuple(_STATUS_WORDS)


def status_word(text: str) -> str:
    """The form a status is looked up in: ``Partially Refunded`` → ``partially_refunded``."""
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "_")


def parse_order_status(text: str) -> str:
    """paid, refunded, cancelled, pending — or 'failed' (a payment that never happened)."""
    word = status_word(text).removeprefix("wc-")
    status = STATUS_SYNONYMS.get(word) or STATUS_SYNONYMS.get(word.replace("_", "-"))
    if status is None:
        value = text.strip()
        raise ValueError(
            f"unknown order status {value!r} (use paid, refunded, cancelled or pending, or say "
            f"what it means: {map_value_hint('status', value, 'paid')})"
        )
    return status


def map_value_hint(field: str, value: str, target: str) -> str:
    """The ``--map-value`` option that maps ``value`` of ``field`` to ``target``, quoted for a
    shell when it must be."""
    option = f"{field}:{value}={target}"
    plain = all(c.isalnum() or c in "_-:=." for c in option)
    return f"--map-value {option}" if plain else f'--map-value "{option}"'


_SUBSCRIPTION_WORDS = {
    "active": ("active", "活跃", "有效", "续费中"),
    "trialing": ("trialing", "trial", "试用"),
    "past_due": ("past_due", "unpaid", "incomplete", "逾期"),
    "paused": ("paused", "暂停"),
    "cancelled": ("cancelled", "canceled", "incomplete_expired", "ended", "expired", "已取消"),
}
SUBSCRIPTION_SYNONYMS = {w: s for s, words in _SUBSCRIPTION_WORDS.items() for w in words}
_INTERVALS = {
    "week": ("week", "weekly", "周", "每周"),
    "month": ("month", "monthly", "月", "每月", "包月"),
    "quarter": ("quarter", "quarterly", "季", "季度"),
    "year": ("year", "yearly", "annual", "annually", "年", "每年", "包年"),
}
INTERVAL_SYNONYMS = {w: s for s, words in _INTERVALS.items() for w in words}


def parse_choice(text: str, synonyms: dict[str, str], what: str) -> str:
    word = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "_")
    if word in synonyms:
        return synonyms[word]
    choices = ", ".join(sorted(set(synonyms.values())))
    raise ValueError(f"unknown {what} {text.strip()!r} (use {choices})")


def normalise_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def clean_text(cell: str | None) -> str | None:
    """A text cell as every import reads it: runs of whitespace made one space, full-width forms
    made plain (NFKC, skipped for ASCII); None when nothing is left."""
    if not cell:
        return None
    if cell.isascii():
        return " ".join(cell.split()) or None
    return normalise_text(cell) or None


_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "eire": "IE",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states of america": "US",
    "america": "US",
    "rsa": "ZA",
    "czech republic": "CZ",
    "korea": "KR",
    "south korea": "KR",
    "russia": "RU",
    "中国大陆": "CN",
    "大陆": "CN",
    "内地": "CN",
    "香港": "HK",
    "台湾": "TW",
    "澳门": "MO",
    "美国": "US",
    "英国": "GB",
}


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from babel import Locale

    names: dict[str, str] = {}
    for locale in ("en", "zh_Hans", "de", "fr", "es"):
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(name.lower(), code)
    names.update(_COUNTRY_ALIASES)
    return names


@lru_cache(maxsize=4096)
def parse_country(text: str) -> str:
    """ISO 3166 alpha-2 code from a code ('gb') or a name in English or Chinese."""
    value = normalise_text(text)
    if len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    code = _country_names().get(value.lower())
    if code is None:
        raise ValueError(f"unknown country {value!r}")
    return code
