"""The links inside a message: signed, so that nobody can unsubscribe someone else or count a
click that was never made, and short, so that they survive line-wrapping mail clients.

- ``/u/<token>`` unsubscribes (a GET shows a confirmation page; only a POST unsubscribes, as
  RFC 8058 §3.2 expects of one-click, since link scanners follow every GET);
- ``/c/<token>`` counts a click and redirects to the link's address (only addresses stored for
  the campaign: the token names the link by id, so it is no open redirect);
- ``/o/<token>.png`` is the open pixel.

A token is an itsdangerous signature (HMAC-SHA1 under a key derived from the master key) of the
message's id, and for a click the link's id. Test sends carry message id 0.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.storage.models import CampaignLink

UNSUBSCRIBE, CLICK, OPEN = "unsubscribe", "click", "open"
_PATHS = {UNSUBSCRIBE: "u", CLICK: "c", OPEN: "o"}


@dataclass(frozen=True)
class LinkSigner:
    key: bytes
    public_url: str

    def _serializer(self, purpose: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.key, salt=f"soloist.{purpose}")

    def token(self, purpose: str, *values: int) -> str:
        payload: int | list[int] = values[0] if len(values) == 1 else list(values)
        return str(self._serializer(purpose).dumps(payload))

    def read(self, purpose: str, token: str) -> list[int] | None:
        """The ids a token carries, or None when it was not made by us for ``purpose``."""
        try:
            payload = self._serializer(purpose).loads(token)
        except BadSignature:
            return None
        values = payload if isinstance(payload, list) else [payload]
        if not values or not all(isinstance(v, int) and v >= 0 for v in values):
            return None
        return values

    def url(self, purpose: str, *values: int) -> str:
        suffix = ".png" if purpose == OPEN else ""
        return f"{self.public_url}/{_PATHS[purpose]}/{self.token(purpose, *values)}{suffix}"


class CampaignLinks:
    """The campaign's links by address, stored as they are first met during a send."""

    def __init__(self, session: Session, campaign_id: int) -> None:
        self.session, self.campaign_id = session, campaign_id
        self.ids = {
            link.url: link.id
            for link in session.scalars(
                select(CampaignLink).where(CampaignLink.campaign_id == campaign_id)
            )
        }

    def id_of(self, url: str) -> int:
        found = self.ids.get(url)
        if found is not None:
            return found
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        link = CampaignLink(campaign_id=self.campaign_id, url_hash=digest, url=url)
        try:
            with self.session.begin_nested():
                self.session.add(link)
            link_id: int | None = link.id
        except IntegrityError:  # another sender stored it first
            link_id = self.session.scalar(
                select(CampaignLink.id).where(
                    CampaignLink.campaign_id == self.campaign_id, CampaignLink.url_hash == digest
                )
            )
        if link_id is None:
            raise RuntimeError(f"The link {url!r} of campaign {self.campaign_id} vanished.")
        self.ids[url] = link_id
        return link_id


_HREF = re.compile(r"""(?i)(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""")
_BARE_URL = re.compile(r"""https?://[^\s<>"'\)\]]+""")


def rewrite_links(
    html_part: str | None, text_part: str, tracked: Callable[[str], str], keep: str
) -> tuple[str | None, str]:
    """Send every http(s) link through the click counter, except those starting with ``keep``
    (our own unsubscribe links)."""

    def swap(url: str) -> str:
        return url if url.startswith(keep) else tracked(url)

    new_html = None
    if html_part is not None:

        def attribute(match: re.Match[str]) -> str:
            url = html.unescape(match.group(3))
            return f"{match.group(1)}{match.group(2)}{html.escape(swap(url))}{match.group(2)}"

        new_html = _HREF.sub(attribute, html_part)
    new_text = _BARE_URL.sub(lambda m: swap(m.group(0)), text_part)
    return new_html, new_text
