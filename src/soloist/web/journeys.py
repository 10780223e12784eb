"""Journey pages: the list, the editor (a trigger with its own settings, a wait, a segment, a
message per language with the live preview or a task, a holdout), start and pause, the results
(entries by state, the messages, the effect against the holdout) and the timeline of one
customer: what the journey did or would do for them, and when.

Each action calls one use case of :mod:`soloist.domain.journeys` in one transaction; an error a
person can act on is shown on the journey's page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.campaigns import (
    LANGUAGES,
    contents_of,
    find_customers,
    remove_content,
    update_campaign,
    written_body,
)
from soloist.domain.customers import CustomerFilters, list_customers
from soloist.domain.journeys import (
    TRIGGER_DAYS,
    create_journey,
    current_journey_effects,
    get_journey,
    journey_campaign,
    journey_results,
    journey_summary,
    journey_timeline,
    pause_journey,
    set_journey_content,
    start_journey,
    summarise_journeys,
    update_journey,
)
from soloist.domain.segment_rules import list_segments
from soloist.errors import SoloistError, ValidationError
from soloist.web.campaigns import CHANNELS, FORM_SUFFIX, problem_of
from soloist.web.experiments import effect_panel, holdout_share
from soloist.web.labels import N_
from soloist.web.rendering import is_htmx, render, wording
from soloist.web.security import CsrfChecked, CurrentUser, WebUser, WriterUser

router = APIRouter(include_in_schema=False)

TRIGGERS = tuple(TRIGGER_DAYS)
# The triggers whose days mean something, and what the form calls each one's field.
DAYS_FIELDS = {
    "order": "days_order",
    "birthday": "days_birthday",
    "points_expiring": "days_points_expiring",
    "churn_risk": "days_churn_risk",
}
ACTIONS = ("message", "task")
DONE = frozenset(("created", "saved", "started", "paused"))
RECENT_CUSTOMERS = 25


@dataclass
class JourneyDraft:
    """What the journey editor's form holds: a saved journey's values, or what was posted."""

    name: str = ""
    trigger: str = "order"
    action: str = "message"
    channel: str = "email"
    days: dict[str, str] = field(
        default_factory=lambda: {t: str(TRIGGER_DAYS[t]) for t in DAYS_FIELDS}
    )
    threshold_pct: str = "60"
    minimum_value: str = ""
    wait_hours: str = "0"
    segment: str = ""
    task_title: str = ""
    holdout_pct: str = "10"
    default_language: str = "en"
    subjects: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)

    def filled(self) -> list[str]:
        """The languages with a subject or a body, default language first."""
        found = [
            lang
            for lang in LANGUAGES
            if self.subjects.get(lang, "").strip() or self.bodies.get(lang, "").strip()
        ]
        return sorted(found, key=lambda lang: lang != self.default_language)


def _number_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _draft_of(session: Any, journey_id: int) -> JourneyDraft:
    journey = get_journey(session, journey_id)
    campaign = journey_campaign(session, journey)
    contents = contents_of(session, campaign.id) if campaign is not None else {}
    draft = JourneyDraft(
        name=journey.name,
        trigger=journey.trigger,
        action=journey.action,
        channel=journey.channel,
        threshold_pct=_number_text(None if journey.threshold is None else journey.threshold * 100),
        minimum_value=_number_text(journey.minimum_value),
        wait_hours=str(journey.wait_hours),
        segment=str(journey.segment_id or ""),
        task_title=journey.task_title or "",
        holdout_pct=_number_text(journey.holdout_share * 100),
        default_language=campaign.default_language if campaign is not None else "en",
        subjects={lang: c.subject for lang, c in contents.items()},
        bodies={lang: written_body(c) for lang, c in contents.items()},
    )
    if journey.trigger in DAYS_FIELDS:
        draft.days[journey.trigger] = str(journey.trigger_days)
    return draft


async def submitted_journey(request: Request) -> JourneyDraft:
    form = await request.form()

    def text(name: str, default: str = "") -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else default

    def raw(name: str) -> str:  # the message's text as typed, spaces and all
        value = form.get(name)
        return value if isinstance(value, str) else ""

    language = text("default_language", "en")
    return JourneyDraft(
        name=text("name"),
        trigger=text("trigger", "order"),
        action=text("action", "message"),
        channel=text("channel", "email"),
        days={t: text(name, str(TRIGGER_DAYS[t])) for t, name in DAYS_FIELDS.items()},
        threshold_pct=text("threshold_pct", "60"),
        minimum_value=text("minimum_value"),
        wait_hours=text("wait_hours", "0"),
        segment=text("segment"),
        task_title=text("task_title"),
        holdout_pct=text("holdout_pct", "0"),
        default_language=language if language in LANGUAGES else "en",
        subjects={lang: raw(f"subject_{FORM_SUFFIX[lang]}") for lang in LANGUAGES},
        bodies={lang: raw(f"body_{FORM_SUFFIX[lang]}") for lang in LANGUAGES},
    )


SubmittedJourney = Annotated[JourneyDraft, Depends(submitted_journey)]


def _float(text: str, name: str, message: str) -> float:
    try:
        number = float(text.replace(",", ".").replace("%", "").strip())
    except ValueError:
        raise ValidationError(message, field=name) from None
    if not math.isfinite(number):
        raise ValidationError(message, field=name)
    return number


def _settings(draft: JourneyDraft) -> dict[str, Any]:
    """The journey's settings for ``create_journey`` / ``update_journey``: the days of its
    trigger, the churn threshold and minimum value (churn risk only), the wait, the segment
    ("" for everyone), the task title and the holdout."""
    settings: dict[str, Any] = {}
    if draft.trigger in DAYS_FIELDS:
        message = N_("The days are a whole number from 0 to 365.")
        name = DAYS_FIELDS[draft.trigger]
        days = _float(draft.days.get(draft.trigger, "0") or "0", name, message)
        if days != int(days) or not 0 <= days <= 365:
            raise ValidationError(message, field=name)
        settings["trigger_days"] = int(days)
    if draft.trigger == "churn_risk":
        message = N_("The churn risk threshold is a percentage above 0 and below 100.")
        threshold = _float(draft.threshold_pct or "60", "threshold_pct", message) / 100
        if not 0 < threshold < 1:
            raise ValidationError(message, field="threshold_pct")
        settings["threshold"] = round(threshold, 6)
        message = N_("The minimum value is an amount of money, 0 or more.")
        value = _float(draft.minimum_value or "0", "minimum_value", message)
        if value < 0:
            raise ValidationError(message, field="minimum_value")
        settings["minimum_value"] = value
    message = N_("The wait is a whole number of hours, 0 to 8,760.")
    wait = _float(draft.wait_hours or "0", "wait_hours", message)
    if wait != int(wait) or not 0 <= wait <= 24 * 365:
        raise ValidationError(message, field="wait_hours")
    settings["wait_hours"] = int(wait)
    settings["segment"] = draft.segment
    settings["task_title"] = draft.task_title
    settings["holdout_share"] = holdout_share(draft.holdout_pct)
    return settings


def _checked(draft: JourneyDraft) -> list[str]:
    if draft.action == "task":
        if not draft.task_title:
            raise ValidationError(N_("A task journey needs a task title."), field="task_title")
        return []
    languages = draft.filled()
    if not languages:
        raise ValidationError(
            N_("Write a subject and a body in at least one language."), field="body"
        )
    return languages


def _done_code(request: Request) -> str | None:
    code = request.query_params.get("done")
    return code if code in DONE else None


def _done(journey_id: int, what: str) -> Response:
    return RedirectResponse(f"/journeys/{journey_id}?done={what}", status_code=303)


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def occasion_label(request: Request, key: str) -> str:
    """An occasion's key (``order:42``, ``birthday:2027`` …) in words."""
    _ = wording(request)._
    kind, _sep, ref = key.partition(":")
    if kind == "welcome":
        return _("Became a customer")
    if kind == "order":
        return _("Order %(id)s") % {"id": ref}
    if kind == "birthday":
        return _("Birthday %(year)s") % {"year": ref}
    if kind == "tier":
        return _("Tier change")
    if kind == "expiry":
        return _("Points expiring")
    if kind == "churn":
        return _("Churn risk")
    if kind == "subscription":
        return _("Subscription %(id)s cancelled") % {"id": ref}
    return key


def _timeline(request: Request, session: Any, journey_id: int, customer: str) -> dict[str, Any]:
    """The timeline partial's context for ``customer`` (an id or an e-mail address)."""
    context: dict[str, Any] = {"customer": customer, "items": None, "timeline_problem": None}
    if not customer.strip():
        return context
    try:
        (customer_id,) = find_customers(session, [customer.strip()])
        items = journey_timeline(
            session,
            journey_id,
            customer_id,
            request.app.state.settings,
            request.app.state.database.keyring,
            dt.datetime.now(dt.UTC),
        )
    except SoloistError as exc:
        if exc.code == "not_found":
            context["timeline_problem"] = wording(request)._(
                "No customer with this id or e-mail address."
            )
        else:
            context["timeline_problem"] = problem_of(request, exc)["sentence"]
        return context
    now = dt.datetime.now(dt.UTC)
    for item in items:
        item["label"] = occasion_label(request, item["occasion"])
        item["occurred"] = _at(item["occurred_at"])
        item["due"] = _at(item["due_at"])
        item["ahead"] = item["due"] is not None and item["due"] > now
    context.update(items=items, customer_id=customer_id)
    return context


def _recent_customers(session: Any) -> list[Any]:
    rows, _total = list_customers(session, CustomerFilters(sort="newest", limit=RECENT_CUSTOMERS))
    return rows


def _editor(
    request: Request,
    user: WebUser,
    journey_id: int | None,
    *,
    draft: JourneyDraft | None = None,
    problem: dict[str, Any] | None = None,
    tab: str | None = None,
) -> Response:
    """The editor of a new journey (``journey_id`` None) or of a saved one, with its actions,
    results and timeline."""
    settings = request.app.state.settings
    summary = results = effect = None
    query = request.query_params
    customer = query.get("customer", "").strip() or query.get("pick", "")
    timeline: dict[str, Any] = {"customer": customer, "items": None, "timeline_problem": None}
    recent: list[Any] = []
    with request.app.state.database.read_session() as session:
        segments = list_segments(session, settings.currency)
        if journey_id is not None:
            journey = get_journey(session, journey_id)
            summary = journey_summary(session, journey)
            summary["started"] = _at(summary["started_at"])
            draft = draft or _draft_of(session, journey_id)
            results = journey_results(session, journey_id, settings.currency)
            effect = effect_panel(results["effect"])
            timeline = _timeline(request, session, journey_id, customer)
            recent = _recent_customers(session)
    draft = draft or JourneyDraft()
    context = {
        "journey": summary,
        "draft": draft,
        "segments": segments,
        "triggers": TRIGGERS,
        "days_fields": DAYS_FIELDS,
        "actions": ACTIONS,
        "channels": CHANNELS,
        "languages": LANGUAGES,
        "suffix": FORM_SUFFIX,
        "editable": user.can_write,
        "results": results,
        "effect": effect,
        "recent": recent,
        "to_decimal": _money,
        **timeline,
        "problem": problem,
        "done": None if problem else _done_code(request),
        "tab": tab if tab in LANGUAGES else (draft.filled() or ["en"])[0],
    }
    status_code = problem["http_status"] if problem else 200
    return render(request, "journeys/editor.html", context, user=user, status_code=status_code)


@router.get("/journeys")
def journey_list(request: Request, user: CurrentUser) -> Response:
    currency = request.app.state.settings.currency
    with request.app.state.database.read_session() as session:
        rows = summarise_journeys(session)
        effects, stale = current_journey_effects(session, currency)
    for row in rows:
        row["effect"] = effect_panel(effects.get(row["id"]))
    return render(request, "journeys/list.html", {"rows": rows, "stale": stale}, user=user)


@router.get("/journeys/new")
def new_journey(request: Request, user: WriterUser) -> Response:
    return _editor(request, user, None)


@router.post("/journeys/new", dependencies=[CsrfChecked])
def create(
    request: Request, user: WriterUser, draft: SubmittedJourney, tab: Annotated[str, Form()] = "en"
) -> Response:
    try:
        if draft.trigger not in TRIGGERS:
            raise ValidationError(N_("Choose what starts the journey."), field="trigger")
        languages = _checked(draft)
        settings = _settings(draft)
        first = languages[0] if languages else draft.default_language
        with request.app.state.database.session() as session:
            journey = create_journey(
                session,
                name=draft.name,
                trigger=draft.trigger,
                actor=user.actor,
                action=draft.action,
                channel=draft.channel,
                subject=draft.subjects.get(first) if languages else None,
                body=draft.bodies.get(first) if languages else None,
                language=first,
                **settings,
            )
            for lang in languages[1:]:
                set_journey_content(
                    session, journey.id, lang, draft.subjects[lang], draft.bodies[lang], user.actor
                )
            journey_id = journey.id
    except SoloistError as exc:
        return _editor(request, user, None, draft=draft, problem=problem_of(request, exc), tab=tab)
    return _done(journey_id, "created")


@router.get("/journeys/{journey_id}")
def journey_page(request: Request, journey_id: int, user: CurrentUser) -> Response:
    return _editor(request, user, journey_id)


@router.get("/journeys/{journey_id}/timeline")
def timeline(
    request: Request, journey_id: int, user: CurrentUser, customer: str = "", pick: str = ""
) -> Response:
    """One customer's occasions in the journey (the editor asks as the owner picks one); a
    plain request gets the whole page with the timeline."""
    if not is_htmx(request):
        return _editor(request, user, journey_id)
    with request.app.state.database.read_session() as session:
        journey = journey_summary(session, get_journey(session, journey_id))
        context = _timeline(request, session, journey_id, customer.strip() or pick)
    context["journey"] = journey
    return render(request, "journeys/_timeline.html", context, user=user)


@router.post("/journeys/{journey_id}", dependencies=[CsrfChecked])
def save(
    request: Request,
    journey_id: int,
    user: WriterUser,
    draft: SubmittedJourney,
    tab: Annotated[str, Form()] = "en",
) -> Response:
    try:
        with request.app.state.database.read_session() as session:
            saved = get_journey(session, journey_id)
            # The trigger, action and channel are chosen when the journey is created.
            draft.trigger, draft.action, draft.channel = saved.trigger, saved.action, saved.channel
        languages = _checked(draft)
        settings = _settings(draft)
        with request.app.state.database.session() as session:
            journey = update_journey(session, journey_id, user.actor, name=draft.name, **settings)
            campaign = journey_campaign(session, journey)
            if languages and campaign is not None:
                for lang in languages:
                    set_journey_content(
                        session, journey_id, lang, draft.subjects[lang], draft.bodies[lang],
                        user.actor,
                    )  # fmt: skip
                for lang in LANGUAGES:
                    if lang not in languages:
                        remove_content(session, campaign.id, lang, user.actor)
                update_campaign(session, campaign.id, user.actor, default_language=languages[0])
    except SoloistError as exc:
        problem = problem_of(request, exc)
        return _editor(request, user, journey_id, draft=draft, problem=problem, tab=tab)
    return _done(journey_id, "saved")


@router.post("/journeys/{journey_id}/start", dependencies=[CsrfChecked])
def start(
    request: Request,
    journey_id: int,
    user: WriterUser,
    backfill_days: Annotated[str, Form()] = "0",
) -> Response:
    """Start (or resume) the journey; on a first start, occasions of the last
    ``backfill_days`` count too."""
    try:
        try:
            days = int(backfill_days.strip() or "0")
        except ValueError:
            days = -1
        if not 0 <= days <= 365:
            raise ValidationError(
                N_("Look back 0 to 365 days for occasions already past."), field="backfill_days"
            )
        with request.app.state.database.session() as session:
            start_journey(session, journey_id, user.actor, dt.datetime.now(dt.UTC),
                          backfill_days=days)  # fmt: skip
    except SoloistError as exc:
        return _editor(request, user, journey_id, problem=problem_of(request, exc))
    return _done(journey_id, "started")


@router.post("/journeys/{journey_id}/pause", dependencies=[CsrfChecked])
def pause(request: Request, journey_id: int, user: WriterUser) -> Response:
    try:
        with request.app.state.database.session() as session:
            pause_journey(session, journey_id, user.actor)
    except SoloistError as exc:
        return _editor(request, user, journey_id, problem=problem_of(request, exc))
    return _done(journey_id, "paused")
