"""The ``sla_breach`` task rule: a ticket past a due time gives the owner a task, once per
ticket, target and rule (the rules themselves live with the tasks, in
:mod:`soloist.domain.sales.automation`).

The worker runs :func:`create_breach_tasks` once a minute. A task's ``automation_key``
(``sla-breach:<rule>:<ticket>:<target>``) is unique, so two workers at once, or a run after a
crash, never make a second task for one breach.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.service.sla import RUNNING
from soloist.storage.database import Database
from soloist.storage.models import Task, Ticket
from soloist.storage.types import utcnow

KEY_PREFIX = "sla-breach:"


def breached_tickets(session: Session, now: dt.datetime) -> list[tuple[Ticket, str]]:
    """Running tickets past a due time at ``now``, with the target they missed
    (``first-response`` or ``resolution``), longest overdue first."""
    running = Ticket.status.in_(RUNNING)
    late_first = select(Ticket).where(
        running, Ticket.first_response_at.is_(None), Ticket.first_response_due_at < now
    )
    late_resolution = select(Ticket).where(running, Ticket.resolution_due_at < now)
    found = [
        (t, "first-response")
        for t in session.scalars(late_first.order_by(Ticket.first_response_due_at, Ticket.id))
    ]
    found += [
        (t, "resolution")
        for t in session.scalars(late_resolution.order_by(Ticket.resolution_due_at, Ticket.id))
    ]
    return found


def create_breach_tasks(
    database: Database, actor: str = "sla", now: dt.datetime | None = None
) -> int:
    """Give each breach a task under every ``sla_breach`` rule; how many tasks were made."""
    from soloist.domain.sales import create_task_once, task_rules

    now = now or utcnow()
    made = 0
    with database.session() as session:
        rules = task_rules(session, "sla_breach")
        if not rules:
            return 0
        made_before = set(
            session.scalars(
                select(Task.automation_key).where(Task.automation_key.like(f"{KEY_PREFIX}%"))
            )
        )
        for ticket, target in breached_tickets(session, now):
            due = (
                ticket.first_response_due_at
                if target == "first-response"
                else ticket.resolution_due_at
            )
            for rule in rules:
                if rule.created_at is not None and due is not None and due < rule.created_at:
                    continue  # a rule acts on what happens after it was made
                key = f"{KEY_PREFIX}{rule.id}:{ticket.id}:{target}"
                if key in made_before:
                    continue
                _, new = create_task_once(
                    session,
                    rule.title,
                    actor,
                    notes=f"#{ticket.id} {ticket.subject}: {target.replace('-', ' ')} overdue",
                    customer_id=ticket.customer_id,
                    ticket_id=ticket.id,
                    due_at=now + dt.timedelta(days=rule.due_days),
                    priority="high",
                    automation_key=key,
                    now=now,
                )
                made += new
    return made
