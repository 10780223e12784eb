"""A ticket's page: the thread in time order (customer, staff replies with what became of
their e-mail, internal notes), the SLA clocks, the reply form with canned replies, the status
buttons the desk's transitions allow, the priority and the merging of a duplicate.

Must be included after :mod:`soloist.web.tickets`, whose ``/tickets/new`` would otherwise be
read as a ticket id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from soloist.domain.customers import get_customer
from soloist.domain.service import (
    TRANSITIONS,
    Desk,
    get_ticket,
    list_canned_replies,
    merge_tickets,
    queue_reply,
    render_canned_reply,
    reply_to_ticket,
    set_ticket_priority,
    set_ticket_status,
    sla_state,
)
from soloist.domain.users import get_user
from soloist.errors import NotFoundError, SoloistError, ValidationError
from soloist.web.campaigns import problem_of
from soloist.web.labels import N_, TICKET_STATUSES
from soloist.web.rendering import render, wording
from soloist.web.security import CsrfChecked, CurrentUser, WebUser, WriterUser
from soloist.web.tickets import PRIORITIES, forget_badge, sla_badges, span, to_ticket

router = APIRouter(include_in_schema=False)

# The order of the status buttons, and what a reply may leave the ticket as.
ACTION_ORDER = ("open", "pending", "resolved", "closed")
THEN_STATUSES = ("pending", "open", "resolved")
DONE = frozenset(("created", "reply_queued", "reply_recorded", "reply_no_address", "noted"))
DONE |= {"status", "priority", "merged"}


def then_statuses(status: str) -> list[str]:
    """The statuses a staff reply may leave the ticket in (a new ticket counts as open)."""
    current = "open" if status == "new" else status
    return [s for s in THEN_STATUSES if s == current or s in TRANSITIONS.get(current, ())]


def _done_code(request: Request) -> str | None:
    code = request.query_params.get("done")
    return code if code in DONE else None


@dataclass
class ReplyDraft:
    body: str = ""
    internal: bool = False
    status: str = ""
    canned: str = ""


@dataclass(frozen=True)
class MessageView:
    message: Any
    author: str
    kind: str  # customer, staff or internal


def _messages(session: Session, ticket: Any, customer: Any) -> list[MessageView]:
    """The thread in time order, each message with who wrote it."""
    authors: dict[int, str] = {}
    shown = []
    for message in ticket.messages:
        if message.author_kind == "customer":
            name = (customer.name or customer.email or f"#{customer.id}") if customer else ""
            shown.append(MessageView(message, name, "customer"))
            continue
        if message.user_id is not None and message.user_id not in authors:
            try:
                staff = get_user(session, message.user_id)
                authors[message.user_id] = staff.name or staff.email
            except NotFoundError:
                authors[message.user_id] = ""
        author = authors.get(message.user_id, "") if message.user_id is not None else ""
        shown.append(MessageView(message, author, "internal" if message.internal else "staff"))
    return shown


def _canned_texts(session: Session, replies: list[Any], ticket: Any) -> dict[str, str]:
    """Each canned reply written out for this ticket's customer (the picker inserts these)."""
    texts = {}
    for reply in replies:
        try:
            texts[str(reply.id)] = render_canned_reply(session, reply.id, ticket)
        except SoloistError:
            continue  # a reply that no longer renders is left out of the picker
    return texts


def _thread(
    request: Request,
    user: WebUser,
    ticket_id: int,
    *,
    draft: ReplyDraft | None = None,
    problem: dict[str, Any] | None = None,
    merge_into: int | None = None,
) -> Response:
    """The ticket's page; with ``merge_into``, the question whether to merge it there."""
    settings = request.app.state.settings
    now = dt.datetime.now(dt.UTC)
    with request.app.state.database.read_session() as session:
        desk = Desk.of(session, settings)
        ticket = get_ticket(session, ticket_id)
        customer = get_customer(session, ticket.customer_id) if ticket.customer_id else None
        merged_into = get_ticket(session, ticket.merged_into_id) if ticket.merged_into_id else None
        target = get_ticket(session, merge_into) if merge_into is not None else None
        writable = user.can_write and ticket.status != "closed"
        replies = list_canned_replies(session) if writable else []
        options = then_statuses(ticket.status)
        draft = draft or ReplyDraft()
        if draft.status not in options:
            draft.status = "pending" if "pending" in options else ticket.status
        context = {
            "ticket": ticket,
            "customer": customer,
            "messages": _messages(session, ticket, customer),
            "sla": sla_badges(*sla_state(ticket, desk.calendar, now)),
            "merged_into": merged_into,
            "merge_target": target,
            "writable": writable,
            "actions": [s for s in ACTION_ORDER if s in TRANSITIONS[ticket.status]],
            "priorities": PRIORITIES,
            "then_statuses": options,
            "canned": replies,
            "canned_texts": _canned_texts(session, replies, ticket),
            "draft": draft,
            "problem": problem,
            "done": None if problem else _done_code(request),
            "merged_from": request.query_params.get("from", "")[:18],
            "span": lambda minutes: span(request, minutes),
        }
        status_code = problem["http_status"] if problem else 200
        return render(request, "tickets/thread.html", context, user=user, status_code=status_code)


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: int, user: CurrentUser) -> Response:
    return _thread(request, user, ticket_id)


@router.post("/tickets/{ticket_id}/reply", dependencies=[CsrfChecked])
def reply(
    request: Request,
    ticket_id: int,
    user: WriterUser,
    body: Annotated[str, Form()] = "",
    internal: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    canned: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "send",
) -> Response:
    """Send the reply (or save the note); ``action=insert`` instead writes the chosen canned
    reply into the form and shows it again (the picker without JavaScript)."""
    draft = ReplyDraft(body=body, internal=bool(internal), status=status, canned=canned)
    if action == "insert":
        return _insert_canned(request, user, ticket_id, draft)
    settings = request.app.state.settings
    try:
        if not body.strip():
            raise ValidationError(N_("Write the reply first."), field="body")
        if status and status not in THEN_STATUSES:
            raise ValidationError(N_("Choose the status from the list."), field="status")
        with request.app.state.database.session() as session:
            desk = Desk.of(session, settings)
            message = reply_to_ticket(
                session, desk, ticket_id, body, user.actor, user_id=user.id,
                internal=draft.internal, status=None if draft.internal else (status or None),
            )  # fmt: skip
            delivery = queue_reply(session, settings, message, dt.datetime.now(dt.UTC))
    except SoloistError as exc:
        return _thread(request, user, ticket_id, draft=draft, problem=problem_of(request, exc))
    forget_badge(request)
    return to_ticket(ticket_id, "noted" if draft.internal else f"reply_{delivery}")


def _insert_canned(request: Request, user: WebUser, ticket_id: int, draft: ReplyDraft) -> Response:
    try:
        if not draft.canned.isdigit():
            raise ValidationError(N_("Choose a canned reply to insert."), field="canned")
        with request.app.state.database.read_session() as session:
            text = render_canned_reply(session, int(draft.canned), get_ticket(session, ticket_id))
    except SoloistError as exc:
        return _thread(request, user, ticket_id, draft=draft, problem=problem_of(request, exc))
    before = draft.body.rstrip()
    draft.body = f"{before}\n\n{text}" if before else text
    return _thread(request, user, ticket_id, draft=draft)


@router.post("/tickets/{ticket_id}/status", dependencies=[CsrfChecked])
def change_status(
    request: Request, ticket_id: int, user: WriterUser, status: Annotated[str, Form()] = ""
) -> Response:
    words = wording(request, user)
    with request.app.state.database.read_session() as session:
        current = get_ticket(session, ticket_id).status
    if status not in TRANSITIONS.get(current, ()):
        # The page offers only the allowed moves: this came from an old page or a forged form.
        sentence = words._("A ticket that is %(status)s cannot become %(to)s; nothing changed.")
        problem = {
            "code": "conflict",
            "sentence": sentence % {"status": words._(TICKET_STATUSES[current]),
                                    "to": words._(TICKET_STATUSES[status])},
            "detail": None,
            "field": "transition",
            "http_status": 409,
        }  # fmt: skip
        return _thread(request, user, ticket_id, problem=problem)
    try:
        with request.app.state.database.session() as session:
            desk = Desk.of(session, request.app.state.settings)
            set_ticket_status(session, desk, ticket_id, status, user.actor)
    except SoloistError as exc:
        problem = problem_of(request, exc)
        if problem["field"] == "status":
            problem["field"] = "transition"  # the buttons', not the reply form's
        return _thread(request, user, ticket_id, problem=problem)
    forget_badge(request)
    return to_ticket(ticket_id, "status")


@router.post("/tickets/{ticket_id}/priority", dependencies=[CsrfChecked])
def change_priority(
    request: Request, ticket_id: int, user: WriterUser, priority: Annotated[str, Form()] = ""
) -> Response:
    try:
        if priority not in PRIORITIES:
            raise ValidationError(N_("Choose a priority from the list."), field="priority")
        with request.app.state.database.session() as session:
            desk = Desk.of(session, request.app.state.settings)
            set_ticket_priority(session, desk, ticket_id, priority, user.actor)
    except SoloistError as exc:
        return _thread(request, user, ticket_id, problem=problem_of(request, exc))
    forget_badge(request)
    return to_ticket(ticket_id, "priority")


@router.post("/tickets/{ticket_id}/merge", dependencies=[CsrfChecked])
def merge(
    request: Request,
    ticket_id: int,
    user: WriterUser,
    into: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Merge this ticket into ``into``: first the question (what moves where), then, with
    ``confirm``, the merge; the page of the ticket it went into follows."""
    try:
        text = into.strip().lstrip("#")
        if not text.isdigit() or len(text) > 18:
            raise ValidationError(N_("Give the number of the ticket to merge into."), field="into")
        target_id = int(text)
        if target_id == ticket_id:
            raise ValidationError(N_("A ticket cannot be merged into itself."), field="into")
        with request.app.state.database.read_session() as session:
            ticket = get_ticket(session, ticket_id)
            try:
                target = get_ticket(session, target_id)
            except NotFoundError:
                raise NotFoundError(N_("There is no ticket with this number."),
                                    field="into") from None  # fmt: skip
            if target.customer_id != ticket.customer_id:
                raise ValidationError(
                    N_("Only tickets of the same customer can be merged."), field="into"
                )
            if target.status == "closed":
                raise ValidationError(
                    N_("That ticket is closed; merge into an open one."), field="into"
                )
        if not confirm:
            return _thread(request, user, ticket_id, merge_into=target_id)
        with request.app.state.database.session() as session:
            desk = Desk.of(session, request.app.state.settings)
            merge_tickets(session, desk, ticket_id, target_id, user.actor)
    except SoloistError as exc:
        return _thread(request, user, ticket_id, problem=problem_of(request, exc))
    forget_badge(request)
    return RedirectResponse(f"/tickets/{target_id}?done=merged&from={ticket_id}", status_code=303)
