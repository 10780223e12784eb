"""Campaigns: a segment, a channel and a message per language, sent so that a crash loses
nobody, with one-click unsubscribe and results counted in orders.

``authoring`` (create, edit, states), ``audience`` (who is reached, the frozen list),
``templates`` (sandboxed Jinja2), ``personal`` (the fields a template sees), ``compose`` (one
message for one customer), ``channels`` and ``smtp`` (e-mail, webhook, SMS), ``sending`` (the
crash-safe send loop), ``links`` (signed unsubscribe, click and open links), ``tracking`` (what
recipients do) and ``results`` (the report).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.campaigns.audience import count_audience, find_segment, save_list_segment
    from soloist.domain.campaigns.authoring import (
        LANGUAGES,
        CampaignStateError,
        campaign_summary,
        cancel_campaign,
        content_languages,
        contents_of,
        create_campaign,
        get_campaign,
        list_campaigns,
        pause_campaign,
        schedule_campaign,
        set_content,
        start_sending,
        unschedule_campaign,
        update_campaign,
    )
    from soloist.domain.campaigns.channels import (
        SIGNATURE_HEADER,
        Channel,
        FileSmsGateway,
        OutgoingMessage,
        PermanentDeliveryError,
        SmsChannel,
        TemporaryDeliveryError,
        WebhookChannel,
        channel_for,
        sign_webhook,
    )
    from soloist.domain.campaigns.compose import TEST_MESSAGE, Composer
    from soloist.domain.campaigns.links import CLICK, OPEN, UNSUBSCRIBE, LinkSigner
    from soloist.domain.campaigns.personal import FIELDS, PersonalFields
    from soloist.domain.campaigns.preview import preview_campaign, send_test_message
    from soloist.domain.campaigns.results import campaign_results
    from soloist.domain.campaigns.sending import (
        CampaignBusyError,
        SendReport,
        due_campaigns,
        send_campaign,
        send_due_campaigns,
    )
    from soloist.domain.campaigns.smtp import SmtpChannel, build_email
    from soloist.domain.campaigns.tracking import (
        find_message,
        is_unsubscribed,
        message_by_header,
        record_click,
        record_complaint,
        record_open,
        unsubscribe,
    )

_MODULE_OF = {
    "CLICK": "links",
    "FIELDS": "personal",
    "LANGUAGES": "authoring",
    "OPEN": "links",
    "SIGNATURE_HEADER": "channels",
    "TEST_MESSAGE": "compose",
    "UNSUBSCRIBE": "links",
    "CampaignBusyError": "sending",
    "CampaignStateError": "authoring",
    "Channel": "channels",
    "Composer": "compose",
    "FileSmsGateway": "channels",
    "LinkSigner": "links",
    "OutgoingMessage": "channels",
    "PermanentDeliveryError": "channels",
    "PersonalFields": "personal",
    "SendReport": "sending",
    "SmsChannel": "channels",
    "SmtpChannel": "smtp",
    "TemporaryDeliveryError": "channels",
    "WebhookChannel": "channels",
    "build_email": "smtp",
    "campaign_results": "results",
    "campaign_summary": "authoring",
    "cancel_campaign": "authoring",
    "channel_for": "channels",
    "content_languages": "authoring",
    "contents_of": "authoring",
    "count_audience": "audience",
    "create_campaign": "authoring",
    "due_campaigns": "sending",
    "find_message": "tracking",
    "find_segment": "audience",
    "get_campaign": "authoring",
    "is_unsubscribed": "tracking",
    "list_campaigns": "authoring",
    "message_by_header": "tracking",
    "pause_campaign": "authoring",
    "preview_campaign": "preview",
    "record_click": "tracking",
    "record_complaint": "tracking",
    "record_open": "tracking",
    "save_list_segment": "audience",
    "schedule_campaign": "authoring",
    "send_campaign": "sending",
    "send_due_campaigns": "sending",
    "set_content": "authoring",
    "sign_webhook": "channels",
    "start_sending": "authoring",
    "send_test_message": "preview",
    "unschedule_campaign": "authoring",
    "unsubscribe": "tracking",
    "update_campaign": "authoring",
}
__all__ = [
    "CLICK",
    "FIELDS",
    "LANGUAGES",
    "OPEN",
    "SIGNATURE_HEADER",
    "TEST_MESSAGE",
    "UNSUBSCRIBE",
    "CampaignBusyError",
    "CampaignStateError",
    "Channel",
    "Composer",
    "FileSmsGateway",
    "LinkSigner",
    "OutgoingMessage",
    "PermanentDeliveryError",
    "PersonalFields",
    "SendReport",
    "SmsChannel",
    "SmtpChannel",
    "TemporaryDeliveryError",
    "WebhookChannel",
    "build_email",
    "campaign_results",
    "campaign_summary",
    "cancel_campaign",
    "channel_for",
    "content_languages",
    "contents_of",
    "count_audience",
    "create_campaign",
    "due_campaigns",
    "find_message",
    "find_segment",
    "get_campaign",
    "is_unsubscribed",
    "list_campaigns",
    "message_by_header",
    "pause_campaign",
    "preview_campaign",
    "record_click",
    "record_complaint",
    "record_open",
    "save_list_segment",
    "schedule_campaign",
    "send_campaign",
    "send_due_campaigns",
    "send_test_message",
    "set_content",
    "sign_webhook",
    "start_sending",
    "unschedule_campaign",
    "unsubscribe",
    "update_campaign",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
