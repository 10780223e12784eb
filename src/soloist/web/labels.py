"""What the pages call stored values: one table per kind of value, English prose as the msgid.

The database, the API and the command line speak in codes (``risk``, ``readonly``,
``free_product``); a page shows the English words below, or their translation. Every label is
marked for extraction with :func:`N_` (or :func:`NP_`, with a context, where the English word is
ambiguous: an order, a ticket and a referral are each "pending" in a different sense), so
``pybabel extract`` finds them although the templates translate them through a variable:
``{{ _(SORT_LABELS[s]) }}``. Every table is a :class:`LabelTable`: a code it does not know (a
status from an imported file, say) is shown as it is and never looked up in a catalogue.
"""

from __future__ import annotations

from typing import Final


class Contextual(str):
    """A message id that is translated with ``pgettext(context, message)``."""

    context: str

    def __new__(cls, context: str, message: str) -> Contextual:
        made = super().__new__(cls, message)
        made.context = context
        return made


class Verbatim(str):
    """A value no table knows: shown as it is, not looked up in a catalogue."""


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def NP_(context: str, message: str) -> str:  # noqa: N802
    """Mark ``message`` for extraction with a ``pgettext`` context (``-k NP_:1c,2``)."""
    return Contextual(context, message)


class LabelTable(dict[str, str]):
    """Code → msgid; an unknown code reads as itself (:class:`Verbatim`)."""

    def __missing__(self, key: str) -> str:
        return Verbatim(key)


# The customer list's sort orders (soloist.domain.customers.SORTS).
SORT_LABELS: Final = LabelTable(
    name=N_("By name"),
    newest=N_("Newest first"),
    clv=N_("By CLV"),
    risk=N_("By churn risk"),
)

# What the import wizard can read (soloist.domain.imports.KINDS).
IMPORT_KINDS: Final = LabelTable(
    customers=N_("Customers"),
    orders=N_("Orders"),
    subscriptions=N_("Subscriptions"),
    interactions=N_("Interactions"),
    feedback=N_("Feedback"),
)

# Detected file formats, by format name; the importer's own English label otherwise.
FORMAT_LABELS: Final = LabelTable(
    {
        "generic": N_("CSV/TSV/Excel with named columns"),
        "cdnow": N_("CDNOW purchase log (whitespace separated)"),
        "retail": N_("Line-item retail log (UCI Online Retail layout)"),
        "shopify": N_("Shopify orders export"),
        "stripe-charges": N_("Stripe payments (charges) export"),
        "stripe-customers": N_("Stripe customers export"),
        "stripe-subscriptions": N_("Stripe subscriptions export"),
        "woocommerce": N_("WooCommerce orders export"),
        "shopify-customers": N_("Shopify customers export"),
        "olist": N_("One table of an Olist export"),
        "olist-customers": N_("Olist customers table"),
        "olist-orders": N_("Olist orders, items and payments"),
        "olist-reviews": N_("Olist reviews"),
        "subscription-snapshot": N_("Subscription snapshot: tenure and churn (Telco layout)"),
    }
)

# The purchase models `soloist analyze` chooses from (soloist.domain.scoring.model_choice).
PURCHASE_MODELS: Final = LabelTable(
    {
        "bg-nbd": N_("BG/NBD"),
        "mbg-nbd": N_("MBG/NBD"),
        "pareto-nbd": N_("Pareto/NBD"),
        "pooled-rate": N_("one average repeat rate"),
    }
)

# The events of a customer's timeline (soloist.domain.customers.TimelineItem.kind).
TIMELINE_KINDS: Final = LabelTable(
    order=N_("Order"),
    interaction=N_("Interaction"),
    survey=N_("Survey answer"),
    review=NP_("customer review", "Review"),
    ticket=N_("Support ticket"),
    campaign=N_("Campaign"),
)

# Segments: scored by the latest analysis, or saved (rule, RFM, cluster).
SEGMENT_KINDS: Final = LabelTable(
    scored=N_("Scored"),
    rule=N_("Rule"),
    rfm=N_("RFM"),
    cluster=N_("Cluster"),
    list=N_("Saved list"),
)

# The RFM segments (soloist.analytics.segmentation.RFM_SEGMENTS); their names are English words.
SEGMENT_NAMES: Final = LabelTable(
    {
        "champions": N_("champions"),
        "loyal": N_("loyal"),
        "potential loyalists": N_("potential loyalists"),
        "new": NP_("segment", "new"),
        "promising": N_("promising"),
        "need attention": N_("need attention"),
        "about to sleep": N_("about to sleep"),
        "at risk": N_("at risk"),
        "can't lose": N_("can't lose"),
        "hibernating": N_("hibernating"),
        "lost": N_("lost"),
    }
)

# The groups of reasons on the customer page (soloist.domain.scoring.reasons.REASON_SCORES).
REASON_SCORES: Final = LabelTable(
    churn=N_("Churn risk"),
    subscription=N_("Subscription cancellation risk"),
    segment=N_("Segment"),
    cluster=N_("Cluster"),
)

ROLES: Final = LabelTable(owner=N_("Owner"), staff=N_("Staff"), readonly=N_("Read-only"))
TOKEN_SCOPES: Final = LabelTable(read=N_("read"), write=N_("write"))

ORDER_STATUSES: Final = LabelTable(
    pending=NP_("order status", "pending"),
    paid=N_("paid"),
    refunded=N_("refunded"),
    cancelled=N_("cancelled"),
)
TICKET_STATUSES: Final = LabelTable(
    open=N_("open"),
    pending=NP_("ticket status", "pending"),
    new=N_("new"),
    resolved=N_("resolved"),
    closed=N_("closed"),
)
TICKET_PRIORITIES: Final = LabelTable(
    low=N_("low priority"),
    normal=N_("normal priority"),
    high=N_("high priority"),
    urgent=N_("urgent"),
)
# The support desk's pages (soloist.domain.service): how a ticket stands against an SLA target
# (SlaState.state), which clock, what became of a staff reply's e-mail, the status buttons, the
# inbox's filters and sorts, and the languages of canned replies.
SLA_STATES: Final = LabelTable(
    met=NP_("SLA", "met"),
    breached=NP_("SLA", "breached"),
    due=NP_("SLA", "on time"),
    due_soon=NP_("SLA", "due soon"),
    paused=NP_("SLA", "paused"),
    none=NP_("SLA", "no target"),
)
SLA_CLOCKS: Final = LabelTable(first_response=N_("first response"), resolution=N_("resolution"))
REPLY_DELIVERIES: Final = LabelTable(
    queued=NP_("reply delivery", "queued for sending"),
    sent=NP_("reply delivery", "sent"),
    failed=NP_("reply delivery", "not delivered"),
    recorded=N_("recorded, not sent (no mail server)"),
    no_address=N_("not sent: the customer has no e-mail address"),
)
TICKET_ACTIONS: Final = LabelTable(
    open=N_("Mark as open"),
    pending=N_("Wait for the customer"),
    resolved=N_("Resolve"),
    closed=N_("Close for good"),
)
TICKET_FILTERS: Final = LabelTable(
    active=N_("Active (new, open, pending)"),
    all=N_("All tickets"),
)
TICKET_SORTS: Final = LabelTable(
    due=N_("Due soonest"),
    newest=N_("Newest tickets first"),
    updated=N_("Latest message first"),
)
CANNED_LANGUAGES: Final = LabelTable(
    {"": N_("any language"), "en": N_("in English"), "zh-CN": N_("in Simplified Chinese")}
)
# The sales pipeline (soloist.domain.sales): the built-in stages (a stage the owner named shows
# its own name), task priorities and states, the task list's tabs and the kinds of task rules.
DEAL_STAGES: Final = LabelTable(
    lead=NP_("deal stage", "Lead"),
    qualified=NP_("deal stage", "Qualified"),
    proposal=NP_("deal stage", "Proposal"),
    negotiation=NP_("deal stage", "Negotiation"),
    won=NP_("deal stage", "Won"),
    lost=NP_("deal stage", "Lost"),
)
TASK_PRIORITIES: Final = LabelTable(
    low=N_("low priority"), normal=N_("normal priority"), high=N_("high priority")
)
TASK_STATES: Final = LabelTable(
    overdue=NP_("task", "overdue"),
    today=NP_("task", "due today"),
    upcoming=NP_("task", "upcoming"),
    someday=NP_("task", "no due date"),
    done=NP_("task", "done"),
)
TASK_FILTERS: Final = LabelTable(
    today=N_("Today and overdue"),
    overdue=N_("Overdue"),
    upcoming=N_("Upcoming"),
    open=N_("All open"),
    done=N_("Done"),
)
TASK_RULE_KINDS: Final = LabelTable(
    deal_stage=N_("A deal reaches a stage"),
    churn_risk=N_("A valuable customer's churn risk crosses a threshold"),
    sla_breach=N_("A ticket breaches its SLA"),
)
INTERACTION_CHANNELS: Final = LabelTable(
    email=N_("e-mail"),
    call=N_("call"),
    meeting=N_("meeting"),
    chat=N_("chat"),
    social=N_("social media"),
    note=N_("note"),
)
INTERACTION_DIRECTIONS: Final = LabelTable(
    inbound=N_("inbound"), outbound=N_("outbound"), internal=N_("internal")
)
CONSENT_CHANNELS: Final = LabelTable(
    email=N_("e-mail"), sms=N_("SMS"), phone=N_("phone"), post=N_("post"), webhook=N_("webhook")
)

SURVEY_KINDS: Final = LabelTable(nps=N_("NPS"), csat=N_("CSAT"), ces=N_("CES"))

# Loyalty: ledger entries, who made them (the rules of soloist.domain.loyalty, by name), rewards,
# how a tier qualifies, referrals.
LEDGER_KINDS: Final = LabelTable(
    earn=N_("earned"),
    bonus=N_("bonus"),
    redeem=N_("redeemed"),
    expire=N_("expired"),
    reverse=N_("reversed"),
    adjust=N_("adjusted"),
)
LOYALTY_RULES: Final = LabelTable(
    earn=N_("earning rule"),
    expiry=N_("expiry rule"),
    birthday=N_("birthday rule"),
    tiers=N_("tier review"),
)
# Bonus points by what they reward (soloist.domain.loyalty.rules.BONUS_KINDS).
BONUS_KINDS: Final = LabelTable(
    signup=N_("sign-up bonus"),
    birthday=N_("birthday bonus"),
    review=N_("review bonus"),
    referrer=N_("referral bonus (for referring)"),
    referred=N_("referral bonus (for being referred)"),
    manual=N_("bonus"),
)
SYSTEM_ACTORS: Final = LabelTable({"system": N_("Soloist"), "system:demo": N_("demo data")})
REWARD_KINDS: Final = LabelTable(
    discount=N_("discount"), free_product=N_("free product"), gift=N_("gift")
)
QUALIFY_BY: Final = LabelTable(spend=N_("spend"), points=N_("points"))
REFERRAL_STATUSES: Final = LabelTable(
    pending=NP_("referral status", "pending"), converted=N_("converted")
)
JOB_STATUSES: Final = LabelTable(
    queued=NP_("job status", "queued"),
    running=NP_("job status", "running"),
    done=NP_("job status", "done"),
    failed=NP_("job status", "failed"),
)

# Campaigns (soloist.storage.models.outreach): their states and channels, the states of their
# messages, why a customer is left out of a send, and what a recipient did.
CAMPAIGN_STATUSES: Final = LabelTable(
    draft=NP_("campaign status", "draft"),
    scheduled=NP_("campaign status", "scheduled"),
    sending=NP_("campaign status", "sending"),
    paused=NP_("campaign status", "paused"),
    sent=NP_("campaign status", "sent"),
    cancelled=NP_("campaign status", "cancelled"),
)
CAMPAIGN_CHANNELS: Final = LabelTable(email=N_("e-mail"), sms=N_("SMS"), webhook=N_("webhook"))
MESSAGE_STATUSES: Final = LabelTable(
    queued=NP_("message status", "queued"),
    sending=NP_("message status", "sending"),
    sent=NP_("message status", "sent"),
    failed=NP_("message status", "failed"),
    bounced=NP_("message status", "bounced"),
    suppressed=NP_("message status", "not sent"),
    holdout=NP_("message status", "held out"),
    waiting=NP_("message status", "waiting for the winner"),
)
# Why a customer of the segment is not sent the campaign (soloist.domain.campaigns.audience).
AUDIENCE_REASONS: Final = LabelTable(
    no_address=N_("no address for this channel"),
    no_consent=N_("no consent"),
    unsubscribed=N_("unsubscribed"),
    hard_bounce=N_("address bounced before"),
    complaint=N_("marked an earlier message as spam"),
    erased=N_("the person who had this address was erased"),
    frequency_cap=N_("had enough messages this week"),
    other=NP_("reason", "other"),
)
MESSAGE_FLAGS: Final = LabelTable(
    clicked=N_("clicked"), unsubscribed=N_("unsubscribed"), complained=N_("marked as spam")
)
CAMPAIGN_LANGUAGES: Final = LabelTable(
    {"en": N_("English version"), "zh-CN": N_("Simplified Chinese version")}
)
# A/B tests and send times of campaigns (soloist.storage.models.outreach, soloist.domain.campaigns
# .experiments): what a test counts, its state and how it was decided.
TEST_METRICS: Final = LabelTable(click=N_("clicks"), conversion=N_("orders"))
SEND_TIMES: Final = LabelTable(
    now=N_("Send to everyone at once"), optimised=N_("At each customer's best hour")
)
EXPERIMENT_STATUSES: Final = LabelTable(
    planned=NP_("test status", "planned"),
    running=NP_("test status", "running"),
    decided=NP_("test status", "decided"),
)
EXPERIMENT_DECISIONS: Final = LabelTable(
    winner=N_("a boundary was crossed"),
    no_difference=N_("no difference found at the last look"),
    manual=N_("chosen by hand"),
)
# Journeys (soloist.domain.journeys): triggers, states, actions, what a customer's entry did
# and why one was skipped or waits, and the states of the editor's timeline.
JOURNEY_TRIGGERS: Final = LabelTable(
    welcome=N_("Welcome a new customer"),
    order=N_("After an order (a review request)"),
    birthday=N_("Before a birthday"),
    tier_change=N_("Loyalty tier changed"),
    points_expiring=N_("Points about to expire"),
    churn_risk=N_("A valuable customer at risk of churning"),
    subscription_cancelled=N_("Subscription cancelled"),
)
JOURNEY_STATUSES: Final = LabelTable(
    draft=NP_("journey status", "draft"),
    active=NP_("journey status", "running"),
    paused=NP_("journey status", "paused"),
)
JOURNEY_ACTIONS: Final = LabelTable(message=N_("Send a message"), task=N_("Create a task for me"))
JOURNEY_ENTRY_STATES: Final = LabelTable(
    waiting=NP_("journey entry", "waiting"),
    sent=NP_("journey entry", "sent"),
    task=NP_("journey entry", "task created"),
    holdout=NP_("journey entry", "held out"),
    skipped=NP_("journey entry", "skipped"),
    would_send=N_("would be sent"),
    would_have_sent=N_("would have been sent"),
    before_start=N_("before the journey started"),
)
JOURNEY_REASONS: Final = LabelTable(
    not_in_segment=N_("not in the journey's segment"),
    no_customer=N_("customer not found"),
    late=N_("more than a week late"),
    frequency_cap=N_("had enough messages this week"),
    quiet_hours=N_("quiet hours"),
    not_yet_due=N_("not due yet"),
    no_address=N_("no address for this channel"),
    no_consent=N_("no consent"),
    unsubscribed=N_("unsubscribed"),
    hard_bounce=N_("address bounced before"),
    complaint=N_("marked an earlier message as spam"),
    erased=N_("the person who had this address was erased"),
    other=NP_("reason", "other"),
)

# The report's revenue movements (soloist.domain.reports.MOVEMENTS) and periods.
MOVEMENT_LABELS: Final = LabelTable(
    new=N_("New customers"),
    repeat=N_("Repeat customers"),
    returning=N_("Returning customers"),
    lost=N_("Lost customers"),
)
REPORT_PERIODS: Final = LabelTable(month=N_("Monthly report"), week=N_("Weekly report"))
# Where a feedback text was written (soloist.domain.feedback_text.SaidText.source).
FEEDBACK_SOURCES: Final = LabelTable(
    survey=N_("survey comment"), review=N_("review"), ticket=N_("ticket message")
)
# The languages the feedback analysis tells apart (soloist.analytics.text_language).
TEXT_LANGUAGES: Final = LabelTable(en=N_("in English"), zh=N_("in Chinese"))

# The parts of a campaign's template an error can be in (soloist.domain.campaigns.templates).
TEMPLATE_PARTS: Final = LabelTable(subject=N_("subject"), html=N_("body"), text=N_("body"))
# The fields a campaign template offers (soloist.domain.campaigns.personal), as written in it.
TEMPLATE_FIELDS: Final = LabelTable(
    {
        "customer.name": N_("full name"),
        "customer.first_name": N_("first name (a name written without spaces stays whole)"),
        "customer.points": N_("loyalty points balance"),
        "customer.tier": N_("loyalty tier, or none"),
        "customer.last_product": N_("product of the latest paid order"),
        "customer.clv_band": N_("predicted value band (high, medium or low)"),
        "customer.recommendation.name": N_(
            "the product recommended to them (else a best seller they have not bought), or none"
        ),
        "customer.recommendations": N_(
            "up to three recommended products, each with name and sku (loop over them)"
        ),
        "unsubscribe_url": N_("one-click unsubscribe link"),
    }
)

# The rows of the loyalty effect tables: (key in the report, label, unit).
EFFECT_ROWS: Final = (
    ("repeat_purchase_rate", N_("Repeat-purchase rate since joining"), "percent"),
    ("revenue_per_customer", N_("Revenue per customer since joining"), "money"),
    (
        "revenue_per_customer_adjusted",
        N_("Revenue per customer, adjusted for prior spend"),
        "money",
    ),
)
BEFORE_AFTER_ROWS: Final = (
    ("members_orders", N_("Members: orders per customer, after − before"), "number"),
    ("holdout_orders", N_("Holdout: orders per customer, after − before"), "number"),
    ("difference_in_differences_orders", N_("Difference in differences: orders"), "number"),
    ("difference_in_differences_revenue", N_("Difference in differences: revenue"), "money"),
)

# What an error page says, by the error's stable code (soloist.errors); the English message
# of the error itself is the detail under it.
ERROR_MESSAGES: Final = LabelTable(
    soloist_error=N_("Something went wrong"),
    configuration_error=N_("The workspace is not configured correctly."),
    validation_error=N_("Some of what was entered cannot be used."),
    not_found=N_("There is no such page or record."),
    conflict=N_("This clashes with data that is already there."),
    insufficient_points=N_("There are not enough points for this."),
    authentication_failed=N_("Wrong e-mail or password."),
    too_many_attempts=N_("Too many failed sign-ins. Wait a few minutes, then try again."),
    backup_refused=N_(
        "The backup was refused: it is damaged or cut short, or the passphrase is wrong."
    ),
    permission_denied=N_("Your account may not do this."),
    encryption_error=N_("A value could not be decrypted: check the workspace's master key."),
    import_refused=N_("The file was refused; nothing was written."),
    analytics_input_error=N_("The data cannot be analysed this way yet."),
    rule_syntax_error=N_("The segment rule cannot be read."),
    not_enrolled=N_("This customer is not a member of the loyalty programme."),
    coupon_refused=N_("This coupon cannot be used."),
    referral_rejected=N_("The referral was refused."),
    idempotency_key_reused=N_("This request was made before with different data."),
    login_required=N_("Please sign in."),
    csrf_failed=N_("The form has expired or did not come from this site; reload the page."),
    method_not_allowed=N_("This page cannot be used that way."),
    job_refused=N_("This job cannot run."),
    survey_link_invalid=N_("This survey link is not valid."),
    survey_link_expired=N_("This survey link has expired."),
    survey_answered=N_("This survey has already been answered."),
    busy=N_("Soloist is busy with other changes; try again in a moment."),
    webhook_signature_invalid=N_("The webhook's signature does not match; nothing was written."),
    webhook_not_configured=N_("This webhook has no secret configured yet."),
    webhook_concurrent_delivery=N_("The same webhook delivery arrived twice at once."),
    webhook_payload_too_large=N_("The webhook's body is too large; nothing was read."),
    webhook_no_customer=N_("The webhook names no customer Soloist can find or create."),
    template_error=N_("The message template has a mistake; the details name its line."),
    channel_not_configured=N_("Sending is not set up yet: the mail settings are missing."),
    channel_unavailable=N_(
        "The mail server cannot be reached now; sending continues where it stopped later."
    ),
    campaign_state=N_("The campaign cannot do this in its current state."),
    campaign_busy=N_("Another process is sending this campaign now."),
)

# Every table the templates use, by the name they use.
TABLES: Final = {
    "SORT_LABELS": SORT_LABELS,
    "IMPORT_KINDS": IMPORT_KINDS,
    "FORMAT_LABELS": FORMAT_LABELS,
    "PURCHASE_MODELS": PURCHASE_MODELS,
    "TIMELINE_KINDS": TIMELINE_KINDS,
    "SEGMENT_KINDS": SEGMENT_KINDS,
    "SEGMENT_NAMES": SEGMENT_NAMES,
    "REASON_SCORES": REASON_SCORES,
    "ROLES": ROLES,
    "TOKEN_SCOPES": TOKEN_SCOPES,
    "ORDER_STATUSES": ORDER_STATUSES,
    "TICKET_STATUSES": TICKET_STATUSES,
    "TICKET_PRIORITIES": TICKET_PRIORITIES,
    "SLA_STATES": SLA_STATES,
    "SLA_CLOCKS": SLA_CLOCKS,
    "REPLY_DELIVERIES": REPLY_DELIVERIES,
    "TICKET_ACTIONS": TICKET_ACTIONS,
    "TICKET_FILTERS": TICKET_FILTERS,
    "TICKET_SORTS": TICKET_SORTS,
    "CANNED_LANGUAGES": CANNED_LANGUAGES,
    "DEAL_STAGES": DEAL_STAGES,
    "TASK_PRIORITIES": TASK_PRIORITIES,
    "TASK_STATES": TASK_STATES,
    "TASK_FILTERS": TASK_FILTERS,
    "TASK_RULE_KINDS": TASK_RULE_KINDS,
    "INTERACTION_CHANNELS": INTERACTION_CHANNELS,
    "INTERACTION_DIRECTIONS": INTERACTION_DIRECTIONS,
    "CONSENT_CHANNELS": CONSENT_CHANNELS,
    "SURVEY_KINDS": SURVEY_KINDS,
    "LEDGER_KINDS": LEDGER_KINDS,
    "BONUS_KINDS": BONUS_KINDS,
    "REWARD_KINDS": REWARD_KINDS,
    "QUALIFY_BY": QUALIFY_BY,
    "REFERRAL_STATUSES": REFERRAL_STATUSES,
    "JOB_STATUSES": JOB_STATUSES,
    "CAMPAIGN_STATUSES": CAMPAIGN_STATUSES,
    "CAMPAIGN_CHANNELS": CAMPAIGN_CHANNELS,
    "MESSAGE_STATUSES": MESSAGE_STATUSES,
    "AUDIENCE_REASONS": AUDIENCE_REASONS,
    "MESSAGE_FLAGS": MESSAGE_FLAGS,
    "CAMPAIGN_LANGUAGES": CAMPAIGN_LANGUAGES,
    "TEMPLATE_PARTS": TEMPLATE_PARTS,
    "TEMPLATE_FIELDS": TEMPLATE_FIELDS,
    "ERROR_MESSAGES": ERROR_MESSAGES,
    "TEST_METRICS": TEST_METRICS,
    "SEND_TIMES": SEND_TIMES,
    "EXPERIMENT_STATUSES": EXPERIMENT_STATUSES,
    "EXPERIMENT_DECISIONS": EXPERIMENT_DECISIONS,
    "JOURNEY_TRIGGERS": JOURNEY_TRIGGERS,
    "JOURNEY_STATUSES": JOURNEY_STATUSES,
    "JOURNEY_ACTIONS": JOURNEY_ACTIONS,
    "JOURNEY_ENTRY_STATES": JOURNEY_ENTRY_STATES,
    "JOURNEY_REASONS": JOURNEY_REASONS,
    "MOVEMENT_LABELS": MOVEMENT_LABELS,
    "REPORT_PERIODS": REPORT_PERIODS,
    "FEEDBACK_SOURCES": FEEDBACK_SOURCES,
    "TEXT_LANGUAGES": TEXT_LANGUAGES,
}
