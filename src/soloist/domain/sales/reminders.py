"""Task reminders by e-mail, sent by the worker each minute.

A task is due for its reminder when ``remind_at`` has come, it has not been reminded and it is
not done. The reminder goes to the task's assignee, or to the workspace owner (the first active
user with the role ``owner``) when it has none, through the campaigns' e-mail channel, in the
recipient's language (English or Chinese).

- **At least once.** ``reminded_at`` is written only after the SMTP server accepted the message,
  in a transaction of its own. A crash between the two leaves the task unreminded, and the next
  pass sends it again (with the same Message-ID, so a mail client can tell the two apart). One
  pass runs at a time (a lease), so two workers do not both send it.
- **Refused for good** (an SMTP 5xx, an address the message cannot carry): the task is marked
  reminded anyway, so it is not refused again each minute, and the refusal is written to the
  audit log (``task.reminder_failed``) and the worker's log. Nothing else is done: the task
  itself still shows in the today list.
- **Refused for now** (an SMTP 4xx) or a server that cannot be reached: nothing is marked; the
  next pass tries again.
- **No e-mail set up** (no SMTP host or From): nothing is sent and nothing marked; the log says
  so once per process, and the reminders go out once e-mail is set up.
- A changed ``remind_at`` (:func:`~soloist.domain.sales.tasks.update_task`) is reminded again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from soloist.domain.audit import record_audit
from soloist.domain.campaigns.channels import (
    Channel,
    OutgoingMessage,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    channel_for,
)
from soloist.domain.campaigns.smtp import mail_domain
from soloist.errors import ChannelNotConfiguredError, ChannelUnavailableError
from soloist.storage.database import Database
from soloist.storage.leases import hold_process_lock
from soloist.storage.models import Customer, Deal, Task, Ticket, User
from soloist.storage.types import as_utc, utcnow

log = logging.getLogger("soloist.tasks")
LOCK_NAME = "task-reminders"
BATCH = 100
_logged: set[tuple[str, str]] = set()  # (database URL, what): said once per process

TEXTS = {
    "en": {
        "subject": "Reminder: {title}",
        "due": "Due: {due}",
        "no_due": "No due time.",
        "customer": "Customer: {name}",
        "deal": "Deal: {name}",
        "ticket": "Ticket #{id}: {name}",
        "open": "Open Soloist to see the task and its notes: {url}",
    },
    "zh_Hans": {
        "subject": "提醒：{title}",
        "due": "截止：{due}",
        "no_due": "没有截止时间。",
        "customer": "客户：{name}",
        "deal": "商机：{name}",
        "ticket": "工单 #{id}：{name}",
        "open": "打开 Soloist 查看任务及备注：{url}",
    },
}


@dataclass
class ReminderReport:
    """What one pass did."""

    sent: int = 0
    failed: int = 0  # refused for good: marked reminded, not sent
    waiting: int = 0  # refused for now or server away: tried again next pass
    no_recipient: int = 0  # no assignee and no active owner
    not_configured: bool = False
    busy: bool = False  # another pass was running


def _due(now: dt.datetime) -> list[ColumnElement[bool]]:
    return [Task.remind_at <= now, Task.reminded_at.is_(None), Task.done_at.is_(None)]


def _say_once(database: Database, what: str, message: str, *args: object) -> None:
    key = (database.url, what)
    if key not in _logged:
        _logged.add(key)
        log.warning(message, *args)


def send_due_reminders(
    database: Database, actor: str = "reminders", now: dt.datetime | None = None
) -> ReminderReport:
    """E-mail each task whose reminder is due (see the module doc); one pass at a time."""
    moment = now or utcnow()
    report = ReminderReport()
    with database.read_session() as session:
        if session.scalar(select(Task.id).where(*_due(moment)).limit(1)) is None:
            return report
    try:
        channel = channel_for(database.settings, "email")
    except ChannelNotConfiguredError as exc:
        report.not_configured = True
        _say_once(database, "not-configured", "Task reminders are not sent: %s", exc.message)
        return report
    with hold_process_lock(database.engine, LOCK_NAME) as held:
        if not held:
            report.busy = True
            return report
        try:
            _send_all(database, channel, actor, moment, report)
        finally:
            channel.close()
    return report


def _send_all(
    database: Database, channel: Channel, actor: str, now: dt.datetime, report: ReminderReport
) -> None:
    after: tuple[dt.datetime, int] | None = None
    while True:
        with database.read_session() as session:
            batch = _next_batch(session, database, now, after)
        if not batch:
            return
        after = batch[-1][0], batch[-1][1]
        for remind_at, task_id, message in batch:
            if message is None:
                report.no_recipient += 1
                _say_once(
                    database, "no-recipient",
                    "Task reminders without an assignee wait: there is no active owner to "
                    "send them to (soloist user add EMAIL --role owner).",
                )  # fmt: skip
                continue
            try:
                channel.send(message)
            except TemporaryDeliveryError as exc:
                report.waiting += 1
                log.warning("task %s: reminder refused for now (%s); trying again", task_id, exc)
                continue
            except PermanentDeliveryError as exc:
                report.failed += 1
                log.warning("task %s: reminder refused for good: %s", task_id, exc)
                with database.session() as session:
                    if _mark(session, task_id, remind_at, now):
                        record_audit(
                            session, actor, "task.reminder_failed", "task", task_id,
                            {"error": str(exc)[:500]},
                        )  # fmt: skip
                continue
            except ChannelUnavailableError as exc:
                report.waiting += 1
                log.warning("Task reminders stop for now: %s", exc.message)
                return
            with database.session() as session:
                _mark(session, task_id, remind_at, now)
            report.sent += 1


def _mark(session: Session, task_id: int, remind_at: dt.datetime, now: dt.datetime) -> bool:
    """Mark the reminder of ``remind_at`` sent (not a newer one the owner set meanwhile)."""
    result = session.execute(
        update(Task)
        .where(Task.id == task_id, Task.reminded_at.is_(None), Task.remind_at == remind_at)
        .values(reminded_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def _next_batch(
    session: Session, database: Database, now: dt.datetime, after: tuple[dt.datetime, int] | None
) -> list[tuple[dt.datetime, int, OutgoingMessage | None]]:
    query = select(Task).where(*_due(now))
    if after is not None:
        query = query.where(
            or_(Task.remind_at > after[0], and_(Task.remind_at == after[0], Task.id > after[1]))
        )
    tasks = list(session.scalars(query.order_by(Task.remind_at, Task.id).limit(BATCH)))
    owner = session.scalar(
        select(User).where(User.role == "owner", User.active.is_(True)).order_by(User.id).limit(1)
    )
    batch: list[tuple[dt.datetime, int, OutgoingMessage | None]] = []
    for task in tasks:
        assert task.remind_at is not None
        user = session.get(User, task.assignee_id) if task.assignee_id is not None else None
        recipient = user if user is not None and user.active else owner
        message = None if recipient is None else _message(session, database, task, recipient)
        batch.append((task.remind_at, task.id, message))
    return batch


def _message(session: Session, database: Database, task: Task, user: User) -> OutgoingMessage:
    settings = database.settings
    language = "zh_Hans" if (user.locale or settings.locale).startswith("zh") else "en"
    words = TEXTS[language]
    lines = [task.title, ""]
    if task.due_at is not None:
        local = as_utc(task.due_at).astimezone(ZoneInfo(settings.timezone))
        lines.append(words["due"].format(due=f"{local:%Y-%m-%d %H:%M} ({settings.timezone})"))
    else:
        lines.append(words["no_due"])
    customer = session.get(Customer, task.customer_id) if task.customer_id else None
    if customer is not None and customer.name:
        lines.append(words["customer"].format(name=customer.name))
    deal = session.get(Deal, task.deal_id) if task.deal_id else None
    if deal is not None:
        lines.append(words["deal"].format(name=deal.title))
    ticket = session.get(Ticket, task.ticket_id) if task.ticket_id else None
    if ticket is not None:
        lines.append(words["ticket"].format(id=ticket.id, name=ticket.subject))
    lines += ["", words["open"].format(url=settings.public_url)]
    assert task.remind_at is not None
    stamp = int(as_utc(task.remind_at).timestamp())
    return OutgoingMessage(
        message_id=f"<task-{task.id}-reminder-{stamp}@{mail_domain(settings.mail_from)}>",
        recipient=user.email,
        recipient_name=user.name or "",
        subject=words["subject"].format(title=task.title),
        text="\n".join(lines) + "\n",
        headers={"Auto-Submitted": "auto-generated"},  # RFC 3834: no auto-replies to it
    )
