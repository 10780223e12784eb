"""The list of deals (every won or lost one, the stale ones), the pipeline's statistics, and one
deal's page: its fields (name, value, currency, expected close, a probability of its own,
owner), its stage history with the days spent in each stage, moving, winning or losing it with
the reason, its tasks with a form to add one, and deleting it (the owner, after a question).

Everyone signed in sees the page; staff and the owner change the deal; only the owner deletes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from soloist.domain.sales import (
    deal_history,
    delete_deal,
    get_deal,
    get_sales_settings,
    is_stale,
    list_deals,
    list_stages,
    list_tasks,
    pipeline_stats,
    stale_cutoff,
    update_deal,
)
from soloist.domain.users import user_names
from soloist.errors import SoloistError, ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.types import as_utc, utcnow
from soloist.web.campaigns import problem_of
from soloist.web.deals import (
    PAGE_SIZE,
    apply_move,
    done_code,
    parse_date,
    read_move,
    reason_page,
    stage_name,
    stage_names,
    with_done,
)
from soloist.web.labels import N_
from soloist.web.rendering import render, wording
from soloist.web.security import CsrfChecked, CurrentUser, OwnerUser, WebUser, WriterUser
from soloist.web.tasks import TASK_PRIORITIES_ORDER, task_rows
from soloist.web.tickets import customer_names
from soloist.web.wording import Wording

if TYPE_CHECKING:
    pass

router = APIRouter(include_in_schema=False)
DEAL_TASKS = 100  # tasks listed on a deal's page
SECONDS_PER_DAY = 86_400


@dataclass
class DealDraft:
    """The edit form as typed."""

    name: str = ""
    value: str = ""
    currency: str = ""
    expected_close: str = ""
    probability: str = ""
    owner: str = ""


@dataclass(frozen=True)
class HistoryRow:
    """A deal entering a stage, and how long it stayed there (until now for the current one)."""

    from_name: str | None
    to_name: str
    at: dt.datetime
    who: str
    days: float
    current: bool


def draft_of(deal: Any) -> DealDraft:
    return DealDraft(
        name=deal.title,
        value=str(minor_to_decimal(deal.value_minor, deal.currency)),
        currency=deal.currency,
        expected_close=deal.expected_close_on.isoformat() if deal.expected_close_on else "",
        probability=str(deal.probability_percent),
        owner=str(deal.owner_id or ""),
    )


def people(session: Session) -> dict[int, str]:
    """Every user by id, named as the pages name them (their name, else their e-mail)."""
    return user_names(session)


def active_users(session: Session) -> list[tuple[int, str]]:
    return list(user_names(session, active_only=True).items())


def who_did(words: Wording, actor: str, users: dict[int, str]) -> str:
    """``user:3`` → that user's name; other actors as the pages word them."""
    kind, _, rest = actor.partition(":")
    if kind == "user" and rest.isdigit() and int(rest) in users:
        return users[int(rest)]
    return words.actor(actor)


def history(
    session: Session, deal_id: int, words: Wording, names: dict[str, str], now: dt.datetime
) -> list[HistoryRow]:
    changes = deal_history(session, deal_id)
    users = people(session) if changes else {}
    rows = []
    for index, change in enumerate(changes):
        start = as_utc(change.changed_at)
        last = index + 1 == len(changes)
        end = now if last else as_utc(changes[index + 1].changed_at)
        rows.append(
            HistoryRow(
                from_name=stage_name(words, names, change.from_stage)
                if change.from_stage
                else None,
                to_name=stage_name(words, names, change.to_stage),
                at=start,
                who=who_did(words, change.actor, users),
                days=max((end - start).total_seconds(), 0.0) / SECONDS_PER_DAY,
                current=last,
            )
        )
    return rows


def deal_view(
    request: Request,
    user: WebUser,
    deal_id: int,
    *,
    draft: DealDraft | None = None,
    problem: dict[str, Any] | None = None,
    confirm_delete: bool = False,
    close: tuple[str, str] = ("", ""),
) -> Response:
    """The deal's page; ``close`` is the close form as typed (the outcome's stage, the reason)."""
    settings = request.app.state.settings
    words = wording(request, user)
    now = utcnow()
    with request.app.state.database.read_session() as session:
        deal = get_deal(session, deal_id)
        stages = list_stages(session)
        names = stage_names(words, stages)
        stage = next((s for s in stages if s.key == deal.stage), None)
        customer = (
            customer_names(session, {deal.customer_id}).get(deal.customer_id)
            if deal.customer_id
            else None
        )
        tasks, task_total = list_tasks(
            session, deal_id=deal_id, limit=DEAL_TASKS, timezone=settings.timezone, now=now
        )
        context = {
            "deal": deal,
            "stage": stage,
            "stages": stages,
            "names": names,
            "stage_label": stage_name(words, names, deal.stage),
            "customer": customer,
            "stale": is_stale(deal, stale_cutoff(session, now)),
            "stale_days": get_sales_settings(session).stale_days,
            "history": history(session, deal_id, words, names, now),
            "tasks": task_rows(session, tasks, settings.timezone, now),
            "task_total": task_total,
            "priorities": TASK_PRIORITIES_ORDER,
            "owners": active_users(session),
            "owner_name": people(session).get(deal.owner_id) if deal.owner_id else None,
            "draft": draft or draft_of(deal),
            "currencies": sorted({settings.currency, *settings.rates}),
            "to_major": minor_to_decimal,
            "problem": problem,
            "confirm_delete": confirm_delete,
            "close": close,
            "done": None if problem else done_code(request),
            "today": now.astimezone(words.fmt.tz).date(),
        }
    code = problem["http_status"] if problem else 200
    return render(request, "deals/deal.html", context, user=user, status_code=code)


# --- lists and statistics ------------------------------------------------------------------


@router.get("/deals/list")
def deal_list(
    request: Request,
    user: CurrentUser,
    stage: str = "",
    outcome: str = "",
    stale: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Every deal of a stage or outcome (the won and lost columns' "all" links), or the stale
    ones, newest first."""
    words = wording(request, user)
    now = utcnow()
    with request.app.state.database.read_session() as session:
        stages = list_stages(session)
        names = stage_names(words, stages)
        stage = stage if stage in names else ""
        outcome = outcome if outcome in ("open", "won", "lost") else ""
        deals, total = list_deals(
            session,
            stage=stage or None,
            outcome=outcome or None,
            stale=True if stale else None,
            now=now,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        customers = customer_names(session, {d.customer_id for d in deals if d.customer_id})
        cutoff = stale_cutoff(session, now)
    params = {
        k: v
        for k, v in {"stage": stage, "outcome": outcome, "stale": "1" if stale else ""}.items()
        if v
    }
    context = {
        "deals": deals,
        "total": total,
        "customers": customers,
        "stale_of": lambda deal: is_stale(deal, cutoff),
        "names": names,
        "stages": stages,
        "filters": params,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "query_for": lambda p: urlencode({**params, "page": p}),
        "to_major": minor_to_decimal,
    }
    return render(request, "deals/list.html", context, user=user)


@router.get("/deals/stats")
def stats_page(request: Request, user: CurrentUser, days: str = "") -> Response:
    """Conversion and time per stage, and the win rate, over every deal or the recent ones."""
    settings = request.app.state.settings
    words = wording(request, user)
    period = int(days) if days in ("90", "365") else None
    since = utcnow() - dt.timedelta(days=period) if period else None
    with request.app.state.database.read_session() as session:
        stages = list_stages(session)
        names = stage_names(words, stages)
        stats = pipeline_stats(session, settings.currency, settings.rates, since=since)
    context = {"stats": stats, "names": names, "period": period, "to_major": minor_to_decimal}
    return render(request, "deals/stats.html", context, user=user)


# --- one deal ------------------------------------------------------------------------------


@router.get("/deals/{deal_id}")
def deal_page(request: Request, deal_id: int, user: CurrentUser) -> Response:
    return deal_view(request, user, deal_id)


def _changes(draft: DealDraft, deal: Any, stage_percent: int | None) -> dict[str, Any]:
    """What the edit form changes (only the fields that differ from the deal)."""
    changes: dict[str, Any] = {}
    if draft.name.strip() != deal.title:
        changes["name"] = draft.name
    code = draft.currency.strip().upper()
    if code and code != deal.currency:
        changes["currency"] = code
    if draft.value.strip() != str(minor_to_decimal(deal.value_minor, deal.currency)) or (
        "currency" in changes
    ):
        text = draft.value.strip().replace(",", "")
        if not text:
            raise ValidationError(N_("Give the value as a number, like 1200.50."), field="value")
        changes["value"] = text
    closes = parse_date(draft.expected_close, "expected_close")
    if closes != deal.expected_close_on:
        changes["expected_close_on"] = closes
    if deal.closed_at is None:
        typed = draft.probability.strip().rstrip("%").strip()
        if not typed:
            percent = stage_percent
        elif typed.isdigit() and len(typed) <= 3:
            percent = int(typed)
        else:
            raise ValidationError(
                N_("Give the probability as a whole percent from 0 to 100."), field="probability"
            )
        if percent is not None and percent != deal.probability_percent:
            changes["probability"] = percent
    owner = int(draft.owner) if draft.owner.isdigit() else None
    if owner != deal.owner_id:
        changes["owner_id"] = owner
    return changes


# The domain's field names, by the form's.
FORM_FIELDS = {"expected_close_on": "expected_close", "owner_id": "owner"}


@router.post("/deals/{deal_id}/edit", dependencies=[CsrfChecked])
def edit(
    request: Request,
    deal_id: int,
    user: WriterUser,
    name: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    expected_close: Annotated[str, Form()] = "",
    probability: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
) -> Response:
    draft = DealDraft(name, value, currency, expected_close, probability, owner)
    try:
        with request.app.state.database.session() as session:
            deal = get_deal(session, deal_id, lock=True)
            stage = next((s for s in list_stages(session) if s.key == deal.stage), None)
            changes = _changes(draft, deal, stage.probability_percent if stage else None)
            if changes:
                update_deal(session, deal_id, changes, user.actor)
    except SoloistError as exc:
        problem = problem_of(request, exc)
        problem["field"] = FORM_FIELDS.get(problem["field"], problem["field"])
        return deal_view(request, user, deal_id, draft=draft, problem=problem)
    return RedirectResponse(f"/deals/{deal_id}?done=saved", status_code=303)


@router.post("/deals/{deal_id}/stage", dependencies=[CsrfChecked])
def change_stage(
    request: Request,
    deal_id: int,
    user: WriterUser,
    stage: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    asked: Annotated[str, Form()] = "",
) -> Response:
    """Move the deal from its page, or win or lose it with the reason (the close form asks it,
    so it sends ``asked``; the move form to won or lost asks it on a page first, which sends
    ``asked=page``)."""
    action, back = f"/deals/{deal_id}/stage", f"/deals/{deal_id}"
    planned = None
    try:
        planned = read_move(request, user, deal_id, stage)
        if planned.to.outcome != "open" and not asked:
            return reason_page(request, user, planned, action=action, back=back)
        done = apply_move(request, user, planned, reason)
    except SoloistError as exc:
        problem = problem_of(request, exc)
        if planned is not None and asked == "page":
            return reason_page(
                request, user, planned, action=action, back=back, reason=reason, problem=problem
            )
        return deal_view(request, user, deal_id, problem=problem, close=(stage, reason))
    return RedirectResponse(with_done(back, done), status_code=303)


@router.post("/deals/{deal_id}/delete", dependencies=[CsrfChecked])
def remove(
    request: Request,
    deal_id: int,
    user: OwnerUser,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Delete the deal after the question (the first post asks it)."""
    if not confirm:
        return deal_view(request, user, deal_id, confirm_delete=True)
    with request.app.state.database.session() as session:
        delete_deal(session, deal_id, user.actor)
    return RedirectResponse("/deals?done=deleted", status_code=303)
