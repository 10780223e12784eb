"""Customer service: support tickets with SLA clocks in business hours, canned replies, and the
e-mail in and out of the desk.

The interfaces import from here: ``tickets`` (open, reply, status, merge, list), ``sla`` (the
clocks and how a ticket stands), ``settings`` (the business calendar and the targets),
``business_time`` (the calendar arithmetic), ``canned`` (saved answers), ``mail`` (replies out,
mail in) and ``mailbox`` (reading the support mailbox over IMAP).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.service.automation import breached_tickets, create_breach_tasks
    from soloist.domain.service.business_time import (
        BusinessCalendar,
        add_business_minutes,
        business_minutes_between,
    )
    from soloist.domain.service.canned import (
        delete_canned_reply,
        list_canned_replies,
        render_canned_reply,
        save_canned_reply,
    )
    from soloist.domain.service.mail import (
        REPLY_JOB,
        InboundMail,
        mail_configured,
        new_reply_id,
        queue_reply,
        receive_mail,
        send_reply,
    )
    from soloist.domain.service.mailbox import (
        MailboxReport,
        mailbox_configured,
        poll_support_mailbox,
    )
    from soloist.domain.service.settings import (
        SlaTargets,
        save_service_calendar,
        save_sla_targets,
        service_calendar,
        sla_targets,
    )
    from soloist.domain.service.sla import SlaState, sla_state
    from soloist.domain.service.tickets import (
        ACTIVE,
        TRANSITIONS,
        Desk,
        SlaSummary,
        add_customer_message,
        forget_ticket_subjects,
        get_ticket,
        index_ticket_subjects,
        list_tickets,
        merge_tickets,
        open_ticket,
        reindex_ticket_subjects,
        reply_to_ticket,
        set_ticket_priority,
        set_ticket_status,
        sla_summary,
        ticket_subjects,
    )

_MODULE_OF = {
    "ACTIVE": "tickets",
    "BusinessCalendar": "business_time",
    "Desk": "tickets",
    "InboundMail": "mail",
    "MailboxReport": "mailbox",
    "REPLY_JOB": "mail",
    "SlaState": "sla",
    "SlaSummary": "tickets",
    "SlaTargets": "settings",
    "TRANSITIONS": "tickets",
    "add_business_minutes": "business_time",
    "add_customer_message": "tickets",
    "breached_tickets": "automation",
    "business_minutes_between": "business_time",
    "create_breach_tasks": "automation",
    "delete_canned_reply": "canned",
    "forget_ticket_subjects": "tickets",
    "get_ticket": "tickets",
    "index_ticket_subjects": "tickets",
    "list_canned_replies": "canned",
    "list_tickets": "tickets",
    "mail_configured": "mail",
    "mailbox_configured": "mailbox",
    "merge_tickets": "tickets",
    "new_reply_id": "mail",
    "open_ticket": "tickets",
    "poll_support_mailbox": "mailbox",
    "queue_reply": "mail",
    "receive_mail": "mail",
    "reindex_ticket_subjects": "tickets",
    "render_canned_reply": "canned",
    "reply_to_ticket": "tickets",
    "save_canned_reply": "canned",
    "save_service_calendar": "settings",
    "save_sla_targets": "settings",
    "send_reply": "mail",
    "service_calendar": "settings",
    "set_ticket_priority": "tickets",
    "set_ticket_status": "tickets",
    "sla_state": "sla",
    "sla_summary": "tickets",
    "sla_targets": "settings",
    "ticket_subjects": "tickets",
}
__all__ = [
    "ACTIVE",
    "REPLY_JOB",
    "TRANSITIONS",
    "BusinessCalendar",
    "Desk",
    "InboundMail",
    "MailboxReport",
    "SlaState",
    "SlaSummary",
    "SlaTargets",
    "add_business_minutes",
    "add_customer_message",
    "breached_tickets",
    "business_minutes_between",
    "create_breach_tasks",
    "delete_canned_reply",
    "forget_ticket_subjects",
    "get_ticket",
    "index_ticket_subjects",
    "list_canned_replies",
    "list_tickets",
    "mail_configured",
    "mailbox_configured",
    "merge_tickets",
    "new_reply_id",
    "open_ticket",
    "poll_support_mailbox",
    "queue_reply",
    "receive_mail",
    "reindex_ticket_subjects",
    "render_canned_reply",
    "reply_to_ticket",
    "save_canned_reply",
    "save_service_calendar",
    "save_sla_targets",
    "send_reply",
    "service_calendar",
    "set_ticket_priority",
    "set_ticket_status",
    "sla_state",
    "sla_summary",
    "sla_targets",
    "ticket_subjects",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
