"""What the domain hands back, worded in the reader's language: score reasons and cluster
descriptions (:mod:`soloist.web.reasons`), segment names, timeline statuses, coupons and errors.

An error is worded by its stable code (:data:`soloist.web.labels.ERROR_MESSAGES`); its English
message stays available as the detail.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from soloist.money import minor_to_decimal
from soloist.web.labels import (
    AUDIENCE_REASONS,
    BONUS_KINDS,
    CAMPAIGN_CHANNELS,
    ERROR_MESSAGES,
    INTERACTION_CHANNELS,
    INTERACTION_DIRECTIONS,
    LOYALTY_RULES,
    MESSAGE_STATUSES,
    ORDER_STATUSES,
    SEGMENT_NAMES,
    SURVEY_KINDS,
    SYSTEM_ACTORS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
)
from soloist.web.reasons import ReasonWording

_CLUSTER_NAME = re.compile(r"cluster (?P<number>-?\d+)")
# How soloist.domain.loyalty words the ledger entries its rules write, by source_type.
_LEDGER_REASONS = {
    "order": re.compile(r"order (?P<order>.+)"),
    "lot": re.compile(r"points from (?P<date>\d{4}-\d{2}-\d{2}) expired"),
    "reward": re.compile(r"reward (?P<reward>.+)"),
    "redemption": re.compile(r"points redeemed"),
    "referral": re.compile(r"referral bonus \((?P<role>referrer|referred)\)"),
}


class Wording(ReasonWording):
    """Words for one page: its language (``translator``), formats (``fmt``) and currency."""

    def segment(self, name: str, kind: str | None = None) -> str:
        """An RFM segment's name translated, ``cluster 3`` as "Cluster 3", a rule's name as is."""
        cluster = _CLUSTER_NAME.fullmatch(name)
        if cluster and kind in (None, "cluster"):
            return self._("Cluster %(number)s") % {"number": cluster.group("number")}
        if kind in (None, "scored", "rfm"):
            return self._(SEGMENT_NAMES[name])
        return name

    def timeline_status(self, kind: str, status: str | None) -> str:
        """An order's or ticket's status; an interaction's ``channel · direction``; a campaign
        message's ``channel · status``."""
        if not status:
            return ""
        if kind == "campaign":
            channel, _, state = status.partition(" · ")
            return " · ".join([self._(CAMPAIGN_CHANNELS[channel]), self._(MESSAGE_STATUSES[state])])
        if kind == "order":
            return self._(ORDER_STATUSES[status])
        if kind == "ticket":
            return self._(TICKET_STATUSES[status])
        if kind == "interaction":
            channel, _, direction = status.partition(" · ")
            parts = [self._(INTERACTION_CHANNELS[channel])]
            if direction:
                parts.append(self._(INTERACTION_DIRECTIONS[direction]))
            return " · ".join(parts)
        return status

    def timeline_title(self, kind: str, title: str) -> str:
        """A survey's title is its kind (``NPS``); other titles are the record's own text."""
        return self._(SURVEY_KINDS[title.lower()]) if kind == "survey" else title

    def actor(self, actor: str | None, user_id: int | None = None) -> str:
        """Who made a change: ``user:3`` → "user 3", ``rule:earn`` → "earning rule",
        ``cli:ada`` → "command line (ada)", ``system:demo`` → "demo data"."""
        kind, _, name = (actor or "").partition(":")
        if user_id is not None or kind == "user":
            return self._("user %(id)s") % {"id": user_id if user_id is not None else name}
        if kind == "rule" and name:
            if name in LOYALTY_RULES:
                return self._(LOYALTY_RULES[name])
            return self._("rule %(name)s") % {"name": name}
        if kind == "cli" and name:
            return self._("command line (%(who)s)") % {"who": name}
        return self._(SYSTEM_ACTORS[actor or ""])

    def ledger_reason(self, entry: Any) -> str:
        """Why points moved: what the programme's rules wrote, in words; a person's own reason
        (an adjustment, a bonus given by hand) as they wrote it."""
        reason = entry.reason or ""
        source = str(getattr(entry, "source_type", None) or "")
        if entry.kind == "bonus" and source in BONUS_KINDS and reason == f"{source} bonus":
            return self._(BONUS_KINDS[source])
        found = _LEDGER_REASONS[source].fullmatch(reason) if source in _LEDGER_REASONS else None
        if found is None:
            return reason
        if source == "order":
            return self._("order %(order)s") % found.groupdict()
        if source == "lot":
            when = dt.date.fromisoformat(found.group("date"))
            return self._("points from %(date)s expired") % {"date": self.fmt.date(when)}
        if source == "reward":
            return self._("reward: %(reward)s") % found.groupdict()
        if source == "referral":
            return self._(BONUS_KINDS[found.group("role")])
        return self._("points redeemed")

    def timeline_detail(self, kind: str, detail: str | None) -> str:
        """A ticket's detail is its priority, a campaign message's why it was not sent; other
        details are the customer's own text."""
        if not detail:
            return ""
        if kind == "campaign":
            return self._(AUDIENCE_REASONS[detail])
        return self._(TICKET_PRIORITIES[detail]) if kind == "ticket" else detail

    def coupon(self, coupon: Any, currency: str | None) -> str:
        """What a coupon gives: "10% off", "$5.00 off", else "reward"."""
        if coupon.discount_percent:
            share = self.fmt.percent(coupon.discount_percent / 100, 0)
            return self._("%(discount)s off") % {"discount": share}
        if coupon.discount_minor is not None and currency:
            amount = self.fmt.money(minor_to_decimal(coupon.discount_minor, currency), currency)
            return self._("%(discount)s off") % {"discount": amount}
        return self._("reward")

    def error(self, code: str, message: str | None) -> tuple[str, str | None]:
        """What an error page says, and the English detail to show under it (or None).

        A message that is itself a msgid (the web app's own errors) is translated; otherwise an
        English page shows the message, and another language the sentence for the error's code
        with the English message as the detail.
        """
        if message:
            translated = self._(message)
            if translated != message or self.fmt.locale == "en":
                return translated, None
        sentence = self._(ERROR_MESSAGES[code]) if code in ERROR_MESSAGES else None
        sentence = sentence or self._(ERROR_MESSAGES["soloist_error"])
        return sentence, (message if message and message != sentence else None)
