"""Canned replies: answers the owner saves once and inserts into a reply, in any language.

A body is a Jinja2 template in a sandbox (as the campaigns' are) whose context is the ticket's
``customer`` (``name``, ``first_name``) and ``ticket`` (``id``, ``subject``); a template that
does not render is refused when it is saved, not when it is used.
"""

from __future__ import annotations

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.models import CannedReply, Customer, Ticket

_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
SAMPLE = {"customer": {"name": "Ada Lovelace", "first_name": "Ada"},
          "ticket": {"id": 1, "subject": "Where is my order?"}}  # fmt: skip


def _render(body: str, context: dict[str, object]) -> str:
    return _ENVIRONMENT.from_string(body).render(context)


def save_canned_reply(
    session: Session,
    title: str,
    body: str,
    actor: str,
    *,
    language: str | None = None,
    reply_id: int | None = None,
) -> CannedReply:
    """Create a canned reply, or change the one with ``reply_id``."""
    title = " ".join(title.split())
    if not title:
        raise ValidationError("A canned reply needs a title.", field="title")
    if len(title) > 120:
        raise ValidationError("A title holds at most 120 characters.", field="title")
    if not body.strip():
        raise ValidationError("A canned reply needs a text.", field="body")
    try:
        _render(body, SAMPLE)
    except TemplateError as exc:
        raise ValidationError(f"The text is not a valid template: {exc}", field="body") from exc
    if reply_id is None:
        reply = CannedReply(title=title, body=body, language=language or None)
        session.add(reply)
    else:
        found = session.get(CannedReply, reply_id)
        if found is None:
            raise NotFoundError(f"No canned reply with id {reply_id}.", field="id")
        reply = found
        reply.title, reply.body, reply.language = title, body, language or None
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"A canned reply is already called {title!r}.", field="title") from exc
    record_audit(session, actor, "canned_reply.saved", "canned_reply", reply.id, {"title": title})
    return reply


def list_canned_replies(session: Session) -> list[CannedReply]:
    return list(session.scalars(select(CannedReply).order_by(CannedReply.title)))


def delete_canned_reply(session: Session, reply_id: int, actor: str) -> None:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFoundError(f"No canned reply with id {reply_id}.", field="id")
    session.delete(reply)
    record_audit(session, actor, "canned_reply.deleted", "canned_reply", reply_id, {})
    session.flush()


def render_canned_reply(session: Session, reply_id: int, ticket: Ticket) -> str:
    """The reply's text for this ticket's customer."""
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFoundError(f"No canned reply with id {reply_id}.", field="id")
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    name = (customer.name if customer else "") or ""
    context = {
        "customer": {"name": name, "first_name": name.split(" ")[0] if name else ""},
        "ticket": {"id": ticket.id, "subject": ticket.subject},
    }
    try:
        return _render(reply.body, context)
    except TemplateError as exc:
        raise ValidationError(f"The canned reply does not render: {exc}", field="body") from exc
