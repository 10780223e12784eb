"""The sales pipeline's board (a column per stage; drag a card, or use its "Move to" form, to
move a deal; the weighted forecast by month and the win rate above it) and a new deal. The list
of deals, the statistics and one deal's page are :mod:`soloist.web.deal_page`; the stages and
task rules :mod:`soloist.web.pipeline_settings`.

Each action calls one use case of :mod:`soloist.domain.sales` in one transaction and redirects
(``?done=…`` says what it did); an error is shown next to its field and nothing is saved. The
board's script posts the same move form with ``Accept: application/json`` and reads JSON back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, RedirectResponse, Response

from soloist.domain.campaigns import find_customers
from soloist.domain.currencies import in_currency
from soloist.domain.customers import CustomerFilters, list_customers
from soloist.domain.sales import (
    closed_deals_since,
    create_deal,
    deal_counts_by_stage,
    forecast_deals,
    get_deal,
    get_sales_settings,
    is_stale,
    list_deals,
    list_stages,
    move_deal,
    pipeline_stats,
    stale_cutoff,
)
from soloist.errors import NotFoundError, SoloistError, ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.types import utcnow
from soloist.web.campaigns import problem_of
from soloist.web.labels import DEAL_STAGES, N_
from soloist.web.rendering import render, wording
from soloist.web.security import CsrfChecked, CurrentUser, WebUser, WriterUser
from soloist.web.tickets import customer_names
from soloist.web.wording import Wording

if TYPE_CHECKING:
    from soloist.storage.models import Deal, DealStage

router = APIRouter(include_in_schema=False)

BOARD_OPEN_LIMIT = 500  # open deals on the board; the list pages show the rest
CLOSED_DAYS = 30  # the won and lost columns show the deals closed this recently
FORECAST_MONTHS = 6
PAGE_SIZE = 50
CANDIDATES = 8  # customers offered when a name matches several
CUSTOMER_DEALS = 20
DEAL_DONE = {"created", "moved", "won", "lost", "deleted", "saved"}
DONE = frozenset(DEAL_DONE | {"task_created", "task_done", "task_reopened"})  # and its tasks'


# --- shared by the pipeline's pages ------------------------------------------------------------


def stage_names(words: Wording, stages: list[DealStage]) -> dict[str, str]:
    """Each stage's name as the page shows it: the owner's, else the built-in one translated."""
    return {s.key: s.name or words._(DEAL_STAGES[s.key]) for s in stages}


def stage_name(words: Wording, names: dict[str, str], key: str | None) -> str:
    """A stage's name; a stage deleted since (a key in the history) shows its key."""
    if key is None:
        return "—"
    return names.get(key) or words._(DEAL_STAGES[key])


def local_path(value: str, default: str) -> str:
    """``value`` when it is a path of this site (where a form goes back to), else ``default``."""
    text = value.strip()
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return text
    return default


def with_done(path: str, done: str) -> str:
    """``path`` with ``done=…`` added to its query (the page then says what was done)."""
    base, _, fragment = path.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}done={done}"
    return f"{joined}#{fragment}" if fragment else joined


def done_code(request: Request) -> str | None:
    code = request.query_params.get("done")
    return code if code in DONE else None


def hundredth(value_x100: int) -> int:
    """``value_x100 / 100`` rounded half to even, as the domain's forecast rounds its sums."""
    return int((Decimal(value_x100) / 100).to_integral_value(rounding=ROUND_HALF_EVEN))


def month_label(words: Wording, month: str) -> str:
    """``2026-07`` as "Jul 2026" / "2026年7月"."""
    year, number = month.split("-")
    day = dt.date(int(year), int(number), 1)
    return str(format_skeleton("yMMM", day, locale=words.fmt.babel_locale))


def parse_date(text: str, name: str) -> dt.date | None:
    """A date from a date input (``2026-07-31``), None when empty."""
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(N_("Give a date like 2026-07-31."), field=name) from None


def resolve_customer(session: Session, text: str, chosen: str = "") -> tuple[int | None, list[Any]]:
    """The customer a form names: by ``chosen`` id, an id or e-mail address typed, or a name
    that matches one customer; several matches come back as candidates to choose from."""
    if chosen.isdigit():
        text = chosen
    text = text.strip()
    if not text:
        return None, []
    if (text.isdigit() and len(text) < 19) or "@" in text:
        try:
            (customer_id,) = find_customers(session, [text])
        except (NotFoundError, ValueError):
            raise NotFoundError(
                N_("No customer with this id or e-mail address."), field="customer"
            ) from None
        return customer_id, []
    rows, total = list_customers(session, CustomerFilters(q=text[:200], limit=CANDIDATES))
    if total == 1:
        return rows[0].id, []
    if not total:
        raise NotFoundError(
            N_("No customer has this name; try an e-mail address."), field="customer"
        )
    return None, rows


@dataclass(frozen=True)
class CustomerDeal:
    deal: Deal
    stage_name: str
    stale: bool


def customer_deals(request: Request, session: Session, customer_id: int) -> list[CustomerDeal]:
    """The customer page's open deals, with their stage's name."""
    words = wording(request)
    deals, _ = list_deals(session, customer_id=customer_id, outcome="open", limit=CUSTOMER_DEALS)
    if not deals:
        return []
    names = stage_names(words, list_stages(session))
    cutoff = stale_cutoff(session)
    return [CustomerDeal(d, stage_name(words, names, d.stage), is_stale(d, cutoff)) for d in deals]


# --- the board -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    deal: Deal
    customer_name: str | None
    stale: bool
    past_due: bool  # open, and its expected close date has passed


@dataclass(frozen=True)
class LeftOutSum:
    """Deals of a column in a currency without a rate: out of its sums."""

    currency: str
    deals: int
    value: Decimal


@dataclass
class Column:
    stage: DealStage
    name: str
    cards: list[Card] = field(default_factory=list)
    total_minor: int = 0
    weighted_minor: int = 0
    left_out: list[LeftOutSum] = field(default_factory=list)
    all_deals: int = 0  # in the stage, shown or not (the won and lost columns show 30 days)

    @property
    def closed(self) -> bool:
        return self.stage.outcome != "open"


def _sums(column: Column, currency: str, rates: dict[str, Decimal]) -> None:
    """The column's total and weighted value in the workspace currency, each rounded once."""
    weighted_x100 = 0
    missing: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for card in column.cards:
        deal = card.deal
        converted = in_currency(deal.value_minor, deal.currency, currency, rates)
        if converted is None:
            missing[deal.currency][0] += 1
            missing[deal.currency][1] += deal.value_minor
            continue
        column.total_minor += converted
        weighted_x100 += converted * deal.probability_percent
    column.weighted_minor = hundredth(weighted_x100)
    column.left_out = [
        LeftOutSum(code, count, minor_to_decimal(value, code))
        for code, (count, value) in sorted(missing.items())
    ]


def board_columns(
    session: Session,
    stages: list[DealStage],
    names: dict[str, str],
    settings: Any,
    now: dt.datetime,
) -> tuple[list[Column], int]:
    """The board's columns, and how many open deals there are in all. Five queries: the open
    deals, the recently closed ones, the count per stage, the customers' names, the setting."""
    open_deals, open_total = list_deals(session, outcome="open", limit=BOARD_OPEN_LIMIT)
    closed_keys = [s.key for s in stages if s.outcome != "open"]
    since = now - dt.timedelta(days=CLOSED_DAYS)
    recent = [d for d in closed_deals_since(session, since) if d.stage in closed_keys]
    counts = deal_counts_by_stage(session)
    deals = [*open_deals, *recent]
    customers = customer_names(session, {d.customer_id for d in deals if d.customer_id})
    cutoff = stale_cutoff(session, now)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    latest = dt.date.max
    open_deals.sort(key=lambda d: (d.expected_close_on or latest, d.id))
    columns = {s.key: Column(s, names[s.key], all_deals=counts.get(s.key, 0)) for s in stages}
    for deal in [*open_deals, *recent]:
        column = columns.get(deal.stage)
        if column is None:
            continue
        past_due = (
            deal.closed_at is None
            and deal.expected_close_on is not None
            and deal.expected_close_on < today
        )
        name = customers.get(deal.customer_id) if deal.customer_id else None
        column.cards.append(Card(deal, name, is_stale(deal, cutoff), past_due))
    for column in columns.values():
        _sums(column, settings.currency, settings.rates)
    return list(columns.values()), open_total


def forecast_chart(words: Wording, forecast: Any) -> dict[str, Any]:
    """What the forecast's bar chart draws, in major units of the workspace currency."""
    return {
        "labels": [month_label(words, m.month) for m in forecast.months],
        "weighted": [float(m.weighted) for m in forecast.months],
        "won": [float(m.won) for m in forecast.months],
    }


def _board(
    request: Request,
    user: WebUser,
    *,
    problem: dict[str, Any] | None = None,
) -> Response:
    settings = request.app.state.settings
    words = wording(request, user)
    now = utcnow()
    with request.app.state.database.read_session() as session:
        stages = list_stages(session)
        names = stage_names(words, stages)
        columns, open_total = board_columns(session, stages, names, settings, now)
        forecast = forecast_deals(
            session,
            settings.currency,
            settings.rates,
            months=FORECAST_MONTHS,
            timezone=settings.timezone,
            now=now,
        )
        stats = pipeline_stats(session, settings.currency, settings.rates)
        stale_days = get_sales_settings(session).stale_days
    context = {
        "columns": columns,
        "open_total": open_total,
        "open_shown": sum(len(c.cards) for c in columns if not c.closed),
        "stale": sum(card.stale for c in columns for card in c.cards),
        "stale_days": stale_days,
        "closed_days": CLOSED_DAYS,
        "forecast": forecast,
        "month_label": lambda month: month_label(words, month),
        "chart": forecast_chart(words, forecast),
        "stats": stats,
        "to_major": minor_to_decimal,
        "problem": problem,
        "done": None if problem else done_code(request),
    }
    status_code = problem["http_status"] if problem else 200
    return render(request, "deals/board.html", context, user=user, status_code=status_code)


@router.get("/deals")
def board(request: Request, user: CurrentUser) -> Response:
    return _board(request, user)


# --- moving a deal -------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """A deal and the stage it is to go to, read before the move."""

    deal_id: int
    title: str
    from_key: str
    to: DealStage
    to_name: str


def read_move(request: Request, user: WebUser, deal_id: int, stage: str) -> Move:
    words = wording(request, user)
    with request.app.state.database.read_session() as session:
        stages = list_stages(session)
        deal = get_deal(session, deal_id)
        target = next((s for s in stages if s.key == stage), None)
        if target is None:
            raise ValidationError(N_("Choose a stage from the list."), field="stage")
        return Move(deal.id, deal.title, deal.stage, target, stage_names(words, stages)[target.key])


def apply_move(request: Request, user: WebUser, move: Move, reason: str) -> str:
    """Move the deal; a lost deal needs the reason (a won one may have one). Returns what the
    page then says: moved, won or lost."""
    text = reason.strip() if move.to.outcome != "open" else ""
    if move.to.outcome == "lost" and not text:
        raise ValidationError(N_("Say why the deal was lost."), field="reason")
    if len(text) > 255:
        raise ValidationError(N_("The reason is at most 255 characters."), field="reason")
    with request.app.state.database.session() as session:
        move_deal(session, move.deal_id, move.to.key, user.actor, reason=text or None)
    return "moved" if move.to.outcome == "open" else move.to.outcome


def reason_page(
    request: Request,
    user: WebUser,
    move: Move,
    *,
    action: str,
    back: str,
    reason: str = "",
    problem: dict[str, Any] | None = None,
) -> Response:
    """Why the deal was won or lost: the question a move to those stages asks first (the board's
    script asks it in a dialog; this page is the same without JavaScript)."""
    context = {"move": move, "action": action, "back": back, "reason": reason, "problem": problem}
    status_code = problem["http_status"] if problem else 200
    return render(request, "deals/reason.html", context, user=user, status_code=status_code)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def json_problem(problem: dict[str, Any]) -> Response:
    body = {"error": problem["sentence"], "detail": problem["detail"], "field": problem["field"]}
    return JSONResponse(body, status_code=problem["http_status"])


@router.post("/deals/{deal_id}/move", dependencies=[CsrfChecked])
def move(
    request: Request,
    deal_id: int,
    user: WriterUser,
    stage: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    asked: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/deals",
) -> Response:
    """Move a deal from the board: a card's form, the reason page, or the board's script
    (JSON; it asks the reason in a dialog, so it always sends ``asked``)."""
    scripted = wants_json(request)
    back = local_path(next, "/deals")
    planned: Move | None = None
    try:
        planned = read_move(request, user, deal_id, stage)
        if planned.to.outcome != "open" and not (asked or scripted):
            return reason_page(request, user, planned, action=f"/deals/{deal_id}/move", back=back)
        done = apply_move(request, user, planned, reason)
    except SoloistError as exc:
        problem = problem_of(request, exc)
        if scripted:
            return json_problem(problem)
        if planned is not None and asked == "page":
            return reason_page(
                request,
                user,
                planned,
                action=f"/deals/{deal_id}/move",
                back=back,
                reason=reason,
                problem=problem,
            )
        return _board(request, user, problem=problem)
    if scripted:
        return JSONResponse({"ok": True, "deal": deal_id, "stage": planned.to.key})
    return RedirectResponse(with_done(back, done), status_code=303)


# --- a new deal ----------------------------------------------------------------------------


@dataclass
class NewDeal:
    customer: str = ""
    name: str = ""
    value: str = ""
    currency: str = ""
    expected_close: str = ""
    stage: str = ""


def _new_form(
    request: Request,
    user: WebUser,
    draft: NewDeal,
    *,
    problem: dict[str, Any] | None = None,
    candidates: list[Any] | None = None,
) -> Response:
    settings = request.app.state.settings
    words = wording(request, user)
    with request.app.state.database.read_session() as session:
        stages = [s for s in list_stages(session) if s.outcome == "open"]
        names = stage_names(words, stages)
        chosen = None
        if draft.customer.strip() and not problem:
            try:
                chosen_id, _ = resolve_customer(session, draft.customer)
                chosen = customer_names(session, {chosen_id}).get(chosen_id) if chosen_id else None
            except SoloistError:
                chosen = None
    context = {
        "draft": draft,
        "chosen": chosen,
        "stages": stages,
        "names": names,
        "currencies": sorted({settings.currency, *settings.rates}),
        "candidates": candidates or [],
        "problem": problem,
    }
    status_code = problem["http_status"] if problem else 200
    return render(request, "deals/new.html", context, user=user, status_code=status_code)


@router.get("/deals/new")
def new_deal(request: Request, user: WriterUser, customer: str = "") -> Response:
    currency = request.app.state.settings.currency
    return _new_form(request, user, NewDeal(customer=customer[:200], currency=currency))


@router.post("/deals/new", dependencies=[CsrfChecked])
def create(
    request: Request,
    user: WriterUser,
    customer: Annotated[str, Form()] = "",
    customer_id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
    expected_close: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "",
) -> Response:
    """Open a deal; it starts in the first stage, and moves at once to another open stage
    when one is chosen (its history then shows both)."""
    settings = request.app.state.settings
    code = (currency.strip() or settings.currency).upper()
    typed = customer_id if customer_id.isdigit() else customer
    draft = NewDeal(typed, name, value, code, expected_close, stage)
    try:
        if not name.strip():
            raise ValidationError(N_("Give the deal a name."), field="name")
        try:
            amount = Decimal(value.strip().replace(",", ""))
        except ArithmeticError:
            raise ValidationError(
                N_("Give the value as a number, like 1200.50."), field="value"
            ) from None
        closes = parse_date(expected_close, "expected_close")
        with request.app.state.database.read_session() as session:
            chosen, candidates = resolve_customer(session, customer, customer_id)
            stages = {s.key for s in list_stages(session) if s.outcome == "open"}
        if candidates:
            several = ValidationError(N_("Several customers match: choose one."), field="customer")
            return _new_form(
                request, user, draft, problem=problem_of(request, several), candidates=candidates
            )
        if chosen is None:
            raise ValidationError(
                N_("Choose the customer by name, id or e-mail address."), field="customer"
            )
        if stage and stage not in stages:
            raise ValidationError(N_("Choose a stage from the list."), field="stage")
        with request.app.state.database.session() as session:
            now = utcnow()
            deal = create_deal(
                session,
                user.actor,
                name=name,
                customer_id=chosen,
                value=amount,
                currency=code,
                expected_close_on=closes,
                owner_id=user.id,
                now=now,
            )
            if stage and stage != deal.stage:
                move_deal(session, deal.id, stage, user.actor, at=now)
            deal_id = deal.id
    except SoloistError as exc:
        return _new_form(request, user, draft, problem=problem_of(request, exc))
    return RedirectResponse(f"/deals/{deal_id}?done=created", status_code=303)
