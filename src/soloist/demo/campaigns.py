"""Past campaigns of the demo shop, with what their recipients did: three sent e-mail
campaigns to the newsletter list (everyone who agreed to e-mail at checkout), each in English
and Chinese, and a draft.

Who got each campaign is the list as it stood on its day (customers who had agreed to e-mail by
then). Recipients' actions are drawn at plausible rates: about 1.5 % hard bounces, a few
unsubscribes, human clicks and opens, and machine opens (a mail proxy fetching the pixel a
second after delivery) for about two in five recipients, as Apple Mail Privacy Protection does.
The orders the results count are the demo's own purchases that fell within each campaign's
attribution window; nothing is planted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from soloist.domain.campaigns import (
    add_suppressions,
    create_campaign,
    save_list_segment,
    set_content,
)
from soloist.domain.customers import record_consent
from soloist.storage.bulk import among, chunks
from soloist.storage.models import (
    Campaign,
    CampaignLink,
    ConsentRecord,
    Customer,
    Message,
    MessageEvent,
    Suppression,
)

ACTOR = "system:demo"
LIST_NAME = "Newsletter"
SHOP_URL = "https://coffee.example"
DOMAIN = "coffee.example"

BODY_EN = """<p>Hello {{{{ customer.first_name }}}},</p>
<p>{intro}</p>
<p><a href="{url}">{cta}</a></p>
{{% if customer.points %}}<p>You have {{{{ customer.points }}}} points to spend.</p>{{% endif %}}
<p>Ada, Ada's Coffee</p>
<p><small><a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a></small></p>"""
BODY_ZH = """<p>{{{{ customer.name }}}}，您好！</p>
<p>{intro}</p>
<p><a href="{url}">{cta}</a></p>
{{% if customer.points %}}<p>您有 {{{{ customer.points }}}} 积分可用。</p>{{% endif %}}
<p>Ada 咖啡</p>
<p><small><a href="{{{{ unsubscribe_url }}}}">退订</a></small></p>"""

# name, day of the two-year history, click rate, (en subject, intro, call), (zh …), path
CAMPAIGNS = (
    (
        "Spring espresso launch",
        420,
        0.07,
        ("New espresso roast, {{ customer.first_name }}", "Our spring espresso is roasted and "
         "ready: cocoa, cherry and a long finish.", "Taste the new roast"),
        ("{{ customer.name }}，春季意式拼配上市", "春季意式拼配已烘焙完成：可可、樱桃，余韵悠长。",
         "品尝新品"),
        "/espresso-spring",
    ),
    (
        "Summer cold brew",
        560,
        0.05,
        ("Cold brew season is here", "Cold brew bags are back: steep overnight, pour over ice.",
         "Get cold brew bags"),
        ("冷萃季节到了", "冷萃咖啡包回来了：冷泡一夜，加冰即饮。", "选购冷萃包"),
        "/cold-brew",
    ),
    (
        "Autumn loyalty bonus",
        690,
        0.09,
        ("{{ customer.first_name }}, double points this week", "Every order this week earns "
         "double points.", "Shop with double points"),
        ("{{ customer.name }}，本周双倍积分", "本周每笔订单均可获得双倍积分。", "去购物"),
        "/double-points",
    ),
)  # fmt: skip


def _newsletter(session: Session) -> list[tuple[int, dt.datetime]]:
    """Customers who agreed to e-mail, with when."""
    rows = session.execute(
        select(ConsentRecord.customer_id, ConsentRecord.recorded_at).where(
            ConsentRecord.channel == "email", ConsentRecord.granted.is_(True)
        )
    ).all()
    return [(int(c), at if at.tzinfo else at.replace(tzinfo=dt.UTC)) for c, at in rows]


def build_campaign_demo(
    session: Session, rng: np.random.Generator, start: dt.datetime, end: dt.datetime
) -> int:
    """Write the demo's campaigns; returns how many."""
    members = _newsletter(session)
    if not members:
        return 0
    segment = save_list_segment(session, LIST_NAME, [c for c, _ in members], ACTOR)
    # a few thousand at a time: SQLite takes at most 250,000 values in one statement
    customers = {
        c.id: c
        for part in chunks([c for c, _ in members])
        for c in session.scalars(select(Customer).where(among(session, Customer.id, part)))
    }
    left: set[int] = set()  # bounced or unsubscribed: never sent to again
    for name, day, click_rate, en, zh, path in CAMPAIGNS:
        send_at = start + dt.timedelta(days=day, hours=9)
        if send_at >= end:
            continue
        url = SHOP_URL + path
        campaign = create_campaign(
            session,
            name=name,
            segment=segment.id,
            subject=en[0],
            body=BODY_EN.format(intro=en[1], url=url, cta=en[2]),
            actor=ACTOR,
        )
        set_content(
            session, campaign.id, "zh-CN", zh[0], BODY_ZH.format(intro=zh[1], url=url, cta=zh[2]),
            ACTOR,
        )  # fmt: skip
        recipients = sorted(
            c for c, at in members if at < send_at and c in customers and c not in left
        )
        left |= _write_messages(
            session, rng, campaign, recipients, customers, send_at, click_rate, url
        )
    create_campaign(
        session,
        name="Holiday gift guide",
        segment=segment.id,
        subject="Gifts for coffee lovers, {{ customer.first_name }}",
        body=BODY_EN.format(
            intro="Twelve gifts for the coffee lover in your life.",
            url=SHOP_URL + "/gifts",
            cta="See the gift guide",
        ),
        actor=ACTOR,
    )
    return len(CAMPAIGNS) + 1


def _write_messages(
    session: Session,
    rng: np.random.Generator,
    campaign: Campaign,
    recipients: list[int],
    customers: dict[int, Customer],
    send_at: dt.datetime,
    click_rate: float,
    url: str,
) -> set[int]:
    """The campaign's messages and events; returns who bounced or unsubscribed."""
    n = len(recipients)
    link = CampaignLink(
        campaign_id=campaign.id, url_hash=hashlib.sha256(url.encode()).hexdigest(), url=url
    )
    session.add(link)
    session.flush()
    bounced = rng.random(n) < 0.015
    human_open = rng.random(n) < 0.32
    machine_open = rng.random(n) < 0.4
    clicked = human_open & (rng.random(n) < click_rate / 0.32)
    unsubscribed = rng.random(n) < 0.004
    rows: list[dict[str, Any]] = []
    events: list[dict[str, object]] = []
    sent_times = [send_at + dt.timedelta(seconds=0.4 * i) for i in range(n)]
    for i, customer_id in enumerate(recipients):
        customer = customers[customer_id]
        sent = sent_times[i]
        language = "zh-CN" if (customer.language or "").startswith("zh") else "en"
        row: dict[str, Any] = {
            "campaign_id": campaign.id,
            "customer_id": customer_id,
            "channel": "email",
            "status": "bounced" if bounced[i] else "sent",
            "error": "550 5.1.1 mailbox unavailable" if bounced[i] else None,
            "idempotency_key": f"campaign:{campaign.id}:customer:{customer_id}",
            "recipient": customer.email,
            "message_id": f"<{secrets.token_hex(12)}@{DOMAIN}>",
            "language": language,
            "attempts": 1,
            "created_at": send_at,
            "sent_at": None if bounced[i] else sent,
        }
        if not bounced[i]:
            if human_open[i]:
                row["opened_at"] = sent + dt.timedelta(hours=float(rng.exponential(5)) + 0.1)
            if clicked[i]:
                row["clicked_at"] = row["opened_at"] + dt.timedelta(minutes=1)
            if unsubscribed[i]:
                row["unsubscribed_at"] = sent + dt.timedelta(hours=float(rng.exponential(12)))
        rows.append(row)
    session.execute(insert(Message), rows)
    ids = dict(
        session.execute(
            select(Message.customer_id, Message.id).where(Message.campaign_id == campaign.id)
        ).all()
    )
    for i, row in enumerate(rows):
        message_id, sent = ids[row["customer_id"]], row["sent_at"]
        if sent is None:
            continue
        if machine_open[i]:
            events.append(event_row(message_id, "open", sent + dt.timedelta(seconds=1), sent,
                                    machine=True, agent="Mozilla/5.0"))  # fmt: skip
        if "opened_at" in row:
            events.append(event_row(message_id, "open", row["opened_at"], sent))
        if "clicked_at" in row:
            events.append(event_row(message_id, "click", row["clicked_at"], sent, link=link.id))
        if "unsubscribed_at" in row:
            events.append(event_row(message_id, "unsubscribe", row["unsubscribed_at"], sent))
            record_consent(
                session, row["customer_id"], "email", False, ACTOR, source="unsubscribe",
                evidence=f"one-click, message {message_id}", recorded_at=row["unsubscribed_at"],
            )  # fmt: skip
    if events:
        session.execute(insert(MessageEvent), events)
    suppressions = []
    for i, row in enumerate(rows):
        customer = customers[row["customer_id"]]
        reason = (
            "hard_bounce" if bounced[i] else "unsubscribed" if "unsubscribed_at" in row else None
        )
        if reason and customer.email_hash:
            suppressions.append(
                Suppression(
                    channel="email",
                    address_hash=customer.email_hash,
                    reason=reason,
                    customer_id=customer.id,
                    campaign_id=campaign.id,
                    source="smtp" if bounced[i] else "one-click",
                    created_at=row["sent_at"] or send_at,
                )
            )
    add_suppressions(session, suppressions)
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(status="sent", started_at=send_at, sent_at=sent_times[-1] if n else send_at)
    )
    return {
        row["customer_id"] for i, row in enumerate(rows) if bounced[i] or "unsubscribed_at" in row
    }


def event_row(
    message_id: int,
    kind: str,
    at: dt.datetime,
    sent: dt.datetime,
    *,
    machine: bool = False,
    agent: str | None = None,
    link: int | None = None,
) -> dict[str, object]:
    return {
        "message_id": message_id,
        "kind": kind,
        "link_id": link,
        "occurred_at": at,
        "seconds_after_send": (at - sent).total_seconds(),
        "user_agent": agent,
        "machine": machine,
        "detail": None,
    }
