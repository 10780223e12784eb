"""Campaign pages: the list, the editor (a version per language with a live preview, the audience
before sending, a test send, send now, schedule, pause, cancel) and, once sending started, the
results with their daily chart.

Each action calls one use case of :mod:`soloist.domain.campaigns` in one transaction; an error a
person can act on (a template error with its line, a state that forbids the action, e-mail not
set up) is shown on the campaign's page, not as an error page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.campaigns import (
    LANGUAGES,
    SendPolicy,
    campaign_results,
    campaign_summary,
    cancel_campaign,
    contents_of,
    count_audience,
    count_segment_audience,
    create_campaign,
    current_campaign_figures,
    get_campaign,
    pause_campaign,
    preview_draft,
    queue_campaign,
    remove_content,
    schedule_campaign,
    send_test_message,
    send_winner,
    set_content,
    summarise_campaigns,
    unschedule_campaign,
    update_campaign,
    written_body,
)
from soloist.domain.segment_rules import list_segments
from soloist.errors import SoloistError, ValidationError
from soloist.web.experiments import (
    VARIANTS,
    ExperimentForm,
    experiment_panel,
    guide_context,
    holdout_panel,
    save_test,
    saved_form,
    submitted_form,
)
from soloist.web.labels import N_
from soloist.web.rendering import render, wording
from soloist.web.security import CsrfChecked, CurrentUser, WebUser, WriterUser

router = APIRouter(include_in_schema=False)

CHANNELS = ("email", "sms", "webhook")
# The suffix of each language's form fields: subject_en, body_zh …
FORM_SUFFIX = {"en": "en", "zh-CN": "zh"}
EDITABLE = ("draft", "scheduled")
# What a redirect after an action says it did (?done=…); the template words each.
DONE = frozenset(("created", "saved", "test", "sending", "resumed", "scheduled"))
DONE |= {"unscheduled", "paused", "cancelled", "winner"}
FRAME_STYLE = (
    "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI','PingFang SC','Noto Sans CJK SC',"
    "sans-serif;color:#1f2937;margin:1rem;}img{max-width:100%;}"
)


@dataclass
class Draft:
    """What the editor's form holds: a saved campaign's values, or what was just submitted."""

    name: str = ""
    segment: str = ""
    channel: str = "email"
    attribution_days: str = "7"
    default_language: str = "en"
    subjects: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    ab: ExperimentForm = field(default_factory=ExperimentForm)  # variants B …, the test

    def subject(self, variant: str, language: str) -> str:
        if variant == "A":
            return self.subjects.get(language, "")
        return self.ab.versions.subject(variant, language)

    def body(self, variant: str, language: str) -> str:
        if variant == "A":
            return self.bodies.get(language, "")
        return self.ab.versions.body(variant, language)

    def variants(self) -> list[str]:
        """A, the variants with text, and the next letter free (the editor's "add" tab)."""
        written = ["A", *self.ab.versions.written()]
        free = [v for v in VARIANTS if v not in written]
        return written + free[:1]

    def filled(self) -> list[str]:
        """The languages with a subject or a body, default language first."""
        found = [
            lang
            for lang in LANGUAGES
            if self.subjects.get(lang, "").strip() or self.bodies.get(lang, "").strip()
        ]
        return sorted(found, key=lambda lang: lang != self.default_language)


def _draft_of(session: Any, campaign_id: int) -> Draft:
    campaign = get_campaign(session, campaign_id)
    contents = contents_of(session, campaign_id)
    return Draft(
        name=campaign.name,
        segment=str(campaign.segment_id or ""),
        channel=campaign.channel,
        attribution_days=str(campaign.attribution_days),
        default_language=campaign.default_language,
        subjects={lang: c.subject for lang, c in contents.items()},
        bodies={lang: written_body(c) for lang, c in contents.items()},
        ab=saved_form(session, campaign),
    )


async def submitted_draft(request: Request) -> Draft:
    """The editor's form as posted (its fields per language end in ``FORM_SUFFIX``; those of
    the variants after A name the variant too: ``subject_B_en``)."""
    form = await request.form()

    def text(name: str, default: str = "") -> str:
        value = form.get(name)
        return value if isinstance(value, str) else default

    default_language = text("default_language", "en")
    return Draft(
        name=text("name"),
        segment=text("segment"),
        channel=text("channel", "email"),
        attribution_days=text("attribution_days", "7"),
        default_language=default_language if default_language in LANGUAGES else "en",
        subjects={lang: text(f"subject_{FORM_SUFFIX[lang]}") for lang in LANGUAGES},
        bodies={lang: text(f"body_{FORM_SUFFIX[lang]}") for lang in LANGUAGES},
        ab=submitted_form(form, FORM_SUFFIX),
    )


SubmittedDraft = Annotated[Draft, Depends(submitted_draft)]


def _days(draft: Draft) -> int:
    try:
        return int(draft.attribution_days)
    except ValueError:
        raise ValidationError(
            N_("The attribution window is a whole number of days."), field="attribution_days"
        ) from None


def _checked(draft: Draft) -> list[str]:
    if not draft.segment.strip():
        raise ValidationError(N_("Choose a segment."), field="segment")
    languages = draft.filled()
    if not languages:
        raise ValidationError(
            N_("Write a subject and a body in at least one language."), field="body"
        )
    return languages


def problem_of(request: Request, exc: SoloistError) -> dict[str, Any]:
    """What the page says of an error: a sentence in the reader's language, and the English
    detail (a template error's own words, say) when it adds something."""
    details = exc.details
    words = wording(request)
    sentence, detail = words.error(exc.code, exc.message)
    if exc.code == "template_error" and details.get("line"):
        detail = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
    return {
        "code": exc.code,
        "sentence": sentence,
        "detail": detail,
        "part": details.get("part"),
        "line": details.get("line"),
        "status": details.get("status"),
        "field": details.get("field"),
        "http_status": exc.http_status,
    }


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _chart(request: Request, results: dict[str, Any]) -> dict[str, Any]:
    words = wording(request)
    daily = results["daily"]
    return {
        "labels": [words._("day %(day)s") % {"day": d["day"]} for d in daily],
        "clicks": [d["clicks"] for d in daily],
        "orders": [d["orders"] for d in daily],
    }


def _editor(
    request: Request,
    user: WebUser,
    campaign_id: int | None,
    *,
    draft: Draft | None = None,
    problem: dict[str, Any] | None = None,
    tab: str | None = None,
    variant_tab: str | None = None,
) -> Response:
    """The editor of a new campaign (``campaign_id`` None) or of a saved one, with its
    audience, A/B test and sample-size guide, actions and results."""
    settings = request.app.state.settings
    currency = settings.currency
    now = dt.datetime.now(dt.UTC)
    summary = results = audience = experiment = holdout = None
    with request.app.state.database.read_session() as session:
        segments = list_segments(session, currency)
        if campaign_id is not None:
            campaign = get_campaign(session, campaign_id)
            summary = campaign_summary(session, campaign)
            summary.update(
                scheduled_at=campaign.scheduled_at,
                started_at=campaign.started_at,
                sent_at=campaign.sent_at,
            )
            draft = draft or _draft_of(session, campaign_id)
            if campaign.status in EDITABLE:
                audience = count_audience(session, campaign, currency)
            if campaign.started_at is not None:
                results = campaign_results(session, campaign_id, currency)
                experiment = experiment_panel(session, campaign_id, currency, now)
                holdout = holdout_panel(session, campaign_id, currency, now)
        draft = draft or Draft(attribution_days=str(settings.attribution_days))
        if audience is None and campaign_id is None and draft.segment.isdigit():
            audience = count_segment_audience(session, int(draft.segment), draft.channel, currency)
        status = summary["status"] if summary else "draft"
        guide: dict[str, Any] = {"guide": None, "guide_problem": None, "reachable": None}
        guide["off"] = not draft.ab.test.on
        guide["fixed"] = status not in EDITABLE
        if draft.ab.test.on and status in EDITABLE:
            guide = guide_context(
                request,
                session,
                draft.ab.test,
                segment=draft.segment,
                channel=draft.channel,
                holdout_pct=draft.ab.holdout_pct,
                variants=draft.ab.variant_count(),
            )
    variants = draft.variants()
    context = {
        "campaign": summary,
        "draft": draft,
        "segments": segments,
        "channels": CHANNELS,
        "languages": LANGUAGES,
        "suffix": FORM_SUFFIX,
        "editable": user.can_write and status in EDITABLE,
        "audience": audience,
        "results": results,
        "chart": _chart(request, results) if results else None,
        "experiment": experiment,
        "holdout": holdout,
        "variants": variants,
        "written_variants": variants[: draft.ab.variant_count()],
        "variant_tab": variant_tab if variant_tab in variants else "A",
        **guide,
        "to_decimal": _money,
        "problem": problem,
        "done": None if problem else _done_code(request),
        "tab": tab if tab in LANGUAGES else (draft.filled() or ["en"])[0],
        "timezone": settings.timezone,
    }
    status_code = problem["http_status"] if problem else 200
    return render(request, "campaigns/editor.html", context, user=user, status_code=status_code)


def _done_code(request: Request) -> str | None:
    code = request.query_params.get("done")
    return code if code in DONE else None


def _done(campaign_id: int, what: str) -> Response:
    return RedirectResponse(f"/campaigns/{campaign_id}?done={what}", status_code=303)


@router.get("/campaigns")
def campaign_list(request: Request, user: CurrentUser) -> Response:
    currency = request.app.state.settings.currency
    with request.app.state.database.read_session() as session:
        figures, stale = current_campaign_figures(session, currency)
        rows = summarise_campaigns(session, currency, figures)
    for row in rows:
        row["revenue"] = _money(row["revenue"])
    return render(request, "campaigns/list.html", {"rows": rows, "stale": stale}, user=user)


@router.get("/campaigns/new")
def new_campaign(request: Request, user: WriterUser) -> Response:
    return _editor(request, user, None)


Tab = Annotated[str, Form()]


@router.post("/campaigns/new", dependencies=[CsrfChecked])
def create(
    request: Request,
    user: WriterUser,
    draft: SubmittedDraft,
    tab: Tab = "en",
    variant_tab: Tab = "A",
) -> Response:
    try:
        languages = _checked(draft)
        days = _days(draft)
        with request.app.state.database.session() as session:
            first = languages[0]
            campaign = create_campaign(
                session,
                name=draft.name,
                segment=draft.segment,
                subject=draft.subjects[first],
                body=draft.bodies[first],
                actor=user.actor,
                channel=draft.channel,
                language=first,
                attribution_days=days,
            )
            for lang in languages[1:]:
                set_content(
                    session, campaign.id, lang, draft.subjects[lang], draft.bodies[lang], user.actor
                )
            save_test(session, campaign.id, user.actor, draft.ab)
            campaign_id = campaign.id
    except SoloistError as exc:
        problem = problem_of(request, exc)
        return _editor(
            request, user, None, draft=draft, problem=problem, tab=tab, variant_tab=variant_tab
        )
    return _done(campaign_id, "created")


@router.post("/campaigns/preview", dependencies=[CsrfChecked])
def preview(
    request: Request,
    user: CurrentUser,
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "en",
    customer: Annotated[str, Form()] = "",
) -> Response:
    """The live preview: the editor's text as it stands, rendered for a customer (or the sample
    customer) in a sandboxed frame; a template error says its line."""
    database = request.app.state.database
    context: dict[str, Any] = {"language": language, "problem": None, "preview": None}
    if not subject.strip() and not body.strip():
        return render(request, "campaigns/_preview.html", context, user=user)
    try:
        with database.read_session() as session:
            found = preview_draft(
                session,
                request.app.state.settings,
                database.keyring,
                dt.datetime.now(dt.UTC),
                subject=subject,
                body=body,
                language=language,
                customer=customer or None,
            )
    except SoloistError as exc:
        context["problem"] = problem_of(request, exc)
    else:
        context["preview"] = found
        context["frame"] = _frame_document(found["html"] or "", found["language"])
    status = context["problem"]["http_status"] if context["problem"] else 200
    return render(request, "campaigns/_preview.html", context, user=user, status_code=status)


def _frame_document(markup: str, language: str) -> str:
    """The message's HTML as a document of its own for the preview frame."""
    if "<html" in markup.lower():
        return markup
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<style>{FRAME_STYLE}</style></head><body>{markup}</body></html>"
    )


@router.get("/campaigns/audience")
def audience(
    request: Request, user: CurrentUser, segment: str = "", channel: str = "email"
) -> Response:
    """Who a campaign to ``segment`` on ``channel`` would reach (the editor updates it as the
    owner picks them)."""
    counts = None
    if segment.isdigit() and channel in CHANNELS:
        with request.app.state.database.read_session() as session:
            counts = count_segment_audience(
                session, int(segment), channel, request.app.state.settings.currency
            )
    return render(request, "campaigns/_audience.html", {"audience": counts}, user=user)


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: int, user: CurrentUser) -> Response:
    return _editor(request, user, campaign_id)


@router.get("/campaigns/{campaign_id}/progress")
def progress(request: Request, campaign_id: int, user: CurrentUser, was: str = "") -> Response:
    """Sent of recipients, polled while the campaign is sending; once it no longer is, the page
    reloads to show the final results."""
    with request.app.state.database.read_session() as session:
        results = campaign_results(session, campaign_id, request.app.state.settings.currency)
    context = {
        "campaign": {"id": campaign_id, "status": results["status"]},
        "results": results,
        "to_decimal": _money,
    }
    response = render(request, "campaigns/_progress.html", context, user=user)
    if was and was != results["status"]:
        response.headers["HX-Refresh"] = "true"  # the final figures, chart and tables
    return response


@router.post("/campaigns/{campaign_id}", dependencies=[CsrfChecked])
def save(
    request: Request,
    campaign_id: int,
    user: WriterUser,
    draft: SubmittedDraft,
    tab: Tab = "en",
    variant_tab: Tab = "A",
) -> Response:
    try:
        languages = _checked(draft)
        days = _days(draft)
        with request.app.state.database.session() as session:
            update_campaign(
                session,
                campaign_id,
                user.actor,
                name=draft.name,
                segment=draft.segment,
                attribution_days=days,
                channel=draft.channel,
            )
            for lang in languages:
                set_content(
                    session, campaign_id, lang, draft.subjects[lang], draft.bodies[lang], user.actor
                )
            for lang in LANGUAGES:
                if lang not in languages:
                    remove_content(session, campaign_id, lang, user.actor)
            update_campaign(session, campaign_id, user.actor, default_language=languages[0])
            save_test(session, campaign_id, user.actor, draft.ab)
    except SoloistError as exc:
        problem = problem_of(request, exc)
        return _editor(
            request,
            user,
            campaign_id,
            draft=draft,
            problem=problem,
            tab=tab,
            variant_tab=variant_tab,
        )
    return _done(campaign_id, "saved")


def _act(request: Request, user: WebUser, campaign_id: int, what: str, action: Any) -> Response:
    """Run one action in a transaction; its error is shown on the campaign's page."""
    try:
        with request.app.state.database.session() as session:
            action(session)
    except SoloistError as exc:
        return _editor(request, user, campaign_id, problem=problem_of(request, exc))
    return _done(campaign_id, what)


@router.post("/campaigns/{campaign_id}/send", dependencies=[CsrfChecked])
def send_now(request: Request, campaign_id: int, user: WriterUser) -> Response:
    """Freeze the list and hand the campaign to the background worker (a paused one resumes)."""
    settings = request.app.state.settings
    with request.app.state.database.read_session() as session:
        resuming = get_campaign(session, campaign_id).status == "paused"

    def send(session: Any) -> None:
        queue_campaign(session, campaign_id, user.actor, settings, dt.datetime.now(dt.UTC))

    return _act(request, user, campaign_id, "resumed" if resuming else "sending", send)


@router.post("/campaigns/{campaign_id}/schedule", dependencies=[CsrfChecked])
def schedule(
    request: Request, campaign_id: int, user: WriterUser, at: Annotated[str, Form()] = ""
) -> Response:
    zone = ZoneInfo(request.app.state.settings.timezone)

    def plan(session: Any) -> None:
        try:
            when = dt.datetime.fromisoformat(at.strip())
        except ValueError:
            raise ValidationError(N_("Give the date and time to send it."), field="at") from None
        when = when if when.tzinfo else when.replace(tzinfo=zone)
        schedule_campaign(session, campaign_id, when, user.actor, dt.datetime.now(dt.UTC))

    return _act(request, user, campaign_id, "scheduled", plan)


@router.post("/campaigns/{campaign_id}/unschedule", dependencies=[CsrfChecked])
def unschedule(request: Request, campaign_id: int, user: WriterUser) -> Response:
    return _act(
        request,
        user,
        campaign_id,
        "unscheduled",
        lambda session: unschedule_campaign(session, campaign_id, user.actor),
    )


@router.post("/campaigns/{campaign_id}/pause", dependencies=[CsrfChecked])
def pause(request: Request, campaign_id: int, user: WriterUser) -> Response:
    return _act(
        request,
        user,
        campaign_id,
        "paused",
        lambda session: pause_campaign(session, campaign_id, user.actor),
    )


@router.post("/campaigns/{campaign_id}/cancel", dependencies=[CsrfChecked])
def cancel(request: Request, campaign_id: int, user: WriterUser) -> Response:
    return _act(
        request,
        user,
        campaign_id,
        "cancelled",
        lambda session: cancel_campaign(session, campaign_id, user.actor),
    )


@router.post("/campaigns/{campaign_id}/winner", dependencies=[CsrfChecked])
def winner(
    request: Request, campaign_id: int, user: WriterUser, variant: Annotated[str, Form()] = ""
) -> Response:
    """The owner's choice before the rule decides: ``variant`` goes to the test's remainder."""
    return _act(
        request,
        user,
        campaign_id,
        "winner",
        lambda session: send_winner(
            session,
            campaign_id,
            variant,
            user.actor,
            dt.datetime.now(dt.UTC),
            SendPolicy.from_settings(request.app.state.settings),
        ),
    )


@router.post("/campaigns/{campaign_id}/test", dependencies=[CsrfChecked])
def send_test(
    request: Request,
    campaign_id: int,
    user: WriterUser,
    language: Annotated[str, Form()] = "en",
    customer: Annotated[str, Form()] = "",
) -> Response:
    """Send the saved version to the signed-in user's own address, as a test."""
    try:
        send_test_message(
            request.app.state.database,
            campaign_id,
            user.email,
            customer=customer or None,
            language=language if language in LANGUAGES else None,
        )
    except SoloistError as exc:
        return _editor(request, user, campaign_id, problem=problem_of(request, exc), tab=language)
    return _done(campaign_id, "test")
