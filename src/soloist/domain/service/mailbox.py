"""Reading the support mailbox over IMAP: each new e-mail becomes a ticket or joins its thread.

Which messages are read: those not marked read (``UNSEEN``), and those whose UID is above the
*mark*, the highest UID already dealt with (kept in ``workspace_settings`` for the account, the
folder and its UIDVALIDITY). So a message the owner opened in a mail client before the worker
came round is filed all the same. The first look at a folder sets the mark at its UIDNEXT:
mail already read then is old mail, not new tickets.

Each message is filed in a transaction of its own, and only after that commit is it marked
``\\Seen`` (and moved to ``imap_processed_mailbox`` if set). A crash between the two leaves it
unread: read again on the next poll, it is found by its Message-ID and filed no second time.
A message that cannot be filed (an automatic reply, a bounce, a sender address that is not one)
is marked read and reported with the reason; a fault of the database leaves it for the next
poll. A failure to reach the server raises nothing: the report and the log say what broke.
How a message is read (its sender, text and thread) is :mod:`.inbound`'s.
"""

from __future__ import annotations

import binascii
import contextlib
import datetime as dt
import imaplib
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pydantic
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from soloist.config import Settings
from soloist.domain.service.inbound import address_of, inbound_mail, parse_message, skip_reason
from soloist.domain.service.mail import InboundMail, receive_mail
from soloist.domain.service.tickets import Desk
from soloist.errors import ConflictError, NotFoundError, SoloistError, ValidationError
from soloist.storage.database import Database
from soloist.storage.locks import hold_named_lock
from soloist.storage.models import WorkspaceSetting
from soloist.storage.types import utcnow

log = logging.getLogger("soloist.mailbox")

MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # the most that the large providers accept
BATCH = 100  # messages per poll; the rest wait a minute
TIMEOUT_S = 30.0
REPEAT_LOG_S = 3600.0
MARK_KEY = "service.mailbox_mark"
LOCK_NAME = "soloist:support-mailbox"
REFUSALS = (ValidationError, NotFoundError, ConflictError, pydantic.ValidationError)


@dataclass(frozen=True)
class SkippedMail:
    uid: int
    sender: str
    subject: str
    reason: str


@dataclass
class MailboxReport:
    """What one look at the support mailbox did."""

    account: str = ""
    configured: bool = True
    fetched: int = 0  # messages read
    filed: int = 0  # new tickets or messages on a ticket
    duplicates: int = 0  # already filed (read before, or our own reply)
    skipped: list[SkippedMail] = field(default_factory=list)
    deferred: int = 0  # left unread for the next poll (a fault of the database)
    more: bool = False  # more messages wait than one poll takes
    tickets: list[int] = field(default_factory=list)  # the tickets written to
    error: str | None = None

    def summary(self) -> str:
        if not self.configured:
            return "No support mailbox is set up (imap_host, imap_username, imap_password)."
        if self.error and not self.fetched:
            return f"{self.account}: {self.error}"
        parts = [
            f"{self.fetched} read",
            f"{self.filed} filed",
            f"{self.duplicates} already filed",
            f"{len(self.skipped)} skipped",
        ]
        if self.deferred:
            parts.append(f"{self.deferred} left for the next look")
        lines = [f"{self.account}: " + ", ".join(parts) + "."]
        lines += [f"  skipped {s.sender or '(no sender)'} {s.subject!r}: {s.reason}"
                  for s in self.skipped]  # fmt: skip
        if self.more:
            lines.append("  More messages are waiting; they are read on the next look.")
        if self.error:
            lines.append(f"  Stopped: {self.error}")
        return "\n".join(lines)


def mailbox_configured(settings: Settings) -> bool:
    return bool(settings.imap_host)


def _own_addresses(settings: Settings) -> frozenset[str]:
    """Our own addresses: mail from them is ours coming back, not a customer's."""
    values = (settings.mail_from, settings.mail_reply_to, settings.imap_username)
    return frozenset(a for a in (address_of(v)[1] for v in values if v) if "@" in a)


def _account(settings: Settings) -> str:
    """The server, folder and login, as the report and the log name them."""
    where = f"{settings.imap_host}:{settings.imap_port_or_default}/{settings.imap_mailbox}"
    return f"{where} as {settings.imap_username}" if settings.imap_username else where


# -- the poll ------------------------------------------------------------------------------------


def poll_support_mailbox(
    database: Database,
    actor: str,
    now: dt.datetime | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    limit: int = BATCH,
) -> MailboxReport:
    """File the new mail of the support mailbox (a step of the worker, once a minute, and what
    ``soloist ticket fetch-mail`` runs). Without ``imap_host`` it does nothing."""
    settings = database.settings
    report = MailboxReport(account=_account(settings), configured=mailbox_configured(settings))
    if not report.configured:
        return report
    now = now or utcnow()
    try:
        connection = _connect(settings, ssl_context)
    except (OSError, imaplib.IMAP4.error, UnicodeError) as exc:
        report.error = f"cannot connect and log in: {_cause(exc)}"
        _log_once(report)
        return report
    try:
        _poll(connection, database, settings, actor, now, report, limit)
    except (OSError, imaplib.IMAP4.error, _MailboxError) as exc:
        report.error = _cause(exc)
        _log_once(report)
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            connection.logout()
    return report


class _MailboxError(Exception):
    pass


def _cause(exc: BaseException) -> str:
    """What the server or the socket said, as one line."""
    said = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(said, bytes):  # imaplib passes the server's answer on as bytes
        text = said.decode("utf-8", "replace")
    else:
        text = str(exc) or type(exc).__name__
    return f"{text} ({type(exc).__name__})" if isinstance(exc, OSError) else text


_logged: dict[str, float] = {}
_logged_lock = threading.Lock()


def _log_once(report: MailboxReport) -> None:
    """One line naming the server and the cause; the same line at most once an hour (a wrong
    password would otherwise fill the log once a minute)."""
    line = f"support mailbox {report.account}: {report.error}"
    now = time.monotonic()
    with _logged_lock:
        if now - _logged.get(line, -REPEAT_LOG_S) < REPEAT_LOG_S:
            return
        _logged[line] = now
    log.warning("%s", line)


def _connect(settings: Settings, context: ssl.SSLContext | None) -> imaplib.IMAP4:
    host, port = settings.imap_host or "", settings.imap_port_or_default
    context = context or ssl.create_default_context()
    connection: imaplib.IMAP4
    if settings.imap_security == "tls":
        connection = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT_S)
    else:
        connection = imaplib.IMAP4(host, port, timeout=TIMEOUT_S)
    try:
        if settings.imap_security == "starttls":
            connection.starttls(ssl_context=context)
        user = settings.imap_username or ""
        password = settings.imap_password.get_secret_value() if settings.imap_password else ""
        if (user + password).isascii():
            connection.login(user, password)
        else:  # LOGIN is ASCII only; SASL PLAIN carries UTF-8
            connection.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
    except BaseException:
        with contextlib.suppress(OSError):  # a failed TLS handshake leaves no socket to close
            connection.shutdown()
        raise
    return connection


@dataclass
class _Mark:
    account: str
    uidvalidity: int
    uid: int


def _poll(
    connection: imaplib.IMAP4,
    database: Database,
    settings: Settings,
    actor: str,
    now: dt.datetime,
    report: MailboxReport,
    limit: int,
) -> None:
    folder = settings.imap_mailbox
    status, data = connection.select(mailbox_name(folder))
    if status != "OK":
        raise _MailboxError(f"the folder {folder!r} cannot be opened: {_said(data)}")
    uidvalidity, uidnext = (
        _code_number(connection, "UIDVALIDITY"),
        _code_number(connection, "UIDNEXT"),
    )
    capabilities = _capabilities(connection)
    target = settings.imap_processed_mailbox
    if target:
        _ensure_folder(connection, target)
    mark = _read_mark(database, report.account, uidvalidity)
    if mark is None and uidvalidity is not None and uidnext is not None:
        mark = _Mark(report.account, uidvalidity, uidnext - 1)  # the first look: now is new
        _save_mark(database, mark)
    found = set(_search(connection, "UNSEEN"))
    if mark is not None:
        found |= {uid for uid in _search(connection, f"UID {mark.uid + 1}:*") if uid > mark.uid}
    uids = sorted(found)
    report.more = len(uids) > limit
    uids = uids[:limit]
    facts = _fetch_facts(connection, uids) if uids else {}
    own = _own_addresses(settings)
    held_back = False  # the mark never passes a message left for the next poll
    for uid in uids:
        if uid not in facts:
            continue  # deleted meanwhile
        size, arrived_at = facts[uid]
        raw = None  # a message over the limit is not fetched at all
        if size <= MAX_MESSAGE_BYTES and (raw := _fetch_message(connection, uid)) is None:
            continue  # deleted meanwhile
        report.fetched += 1
        new_mark = None if held_back or mark is None else _Mark(mark.account, mark.uidvalidity, uid)
        outcome = _file(database, settings, actor, raw, arrived_at, now, own, new_mark)
        if outcome.kind == "deferred":
            report.deferred += 1
            held_back = True
            if outcome.stop:
                report.error = outcome.reason
                break
            continue
        if outcome.kind == "filed":
            report.filed += 1
        elif outcome.kind == "duplicate":
            report.duplicates += 1
        else:
            report.skipped.append(SkippedMail(uid, outcome.sender, outcome.subject, outcome.reason))
            log.info("support mailbox: skipped message %s from %s: %s", uid, outcome.sender,
                     outcome.reason)  # fmt: skip
        if outcome.ticket_id is not None and outcome.ticket_id not in report.tickets:
            report.tickets.append(outcome.ticket_id)
        acknowledge(connection, uid, target, capabilities)
    if mark is not None and uidnext is not None and not (held_back or report.more):
        _save_mark(database, _Mark(mark.account, mark.uidvalidity, uidnext - 1))


@dataclass(frozen=True)
class _Outcome:
    kind: str  # filed | duplicate | skipped | deferred
    ticket_id: int | None = None
    sender: str = ""
    subject: str = ""
    reason: str = ""
    stop: bool = False


def _file(
    database: Database,
    settings: Settings,
    actor: str,
    raw: bytes | None,
    arrived_at: dt.datetime | None,
    now: dt.datetime,
    own: frozenset[str],
    mark: _Mark | None,
) -> _Outcome:
    """File one message in a transaction of its own (which also moves the mark on)."""
    mail: InboundMail | None = None
    reason: str | None
    if raw is None:
        reason = f"too large to read (over {MAX_MESSAGE_BYTES:,} bytes)"
    else:
        try:
            message = parse_message(raw)
            mail = inbound_mail(message, raw, now, arrived_at=arrived_at, own=own)
            reason = skip_reason(message, mail, own)
        except Exception as exc:  # one odd message never stops the others
            log.exception("support mailbox: cannot read a message")
            reason = f"unreadable: {exc}"
    sender, subject = (mail.sender_email, mail.subject) if mail else ("", "")
    try:
        with database.session() as session:
            hold_named_lock(session, LOCK_NAME)  # two pollers file one message once
            outcome = _Outcome("skipped", None, sender, subject, reason or "")
            if reason is None and mail is not None:
                outcome = _receive(session, settings, actor, mail)
            if mark is not None:
                _move_mark(session, mark)
    except Exception as exc:
        log.warning("support mailbox: a message from %s waits for the next look: %s",
                    sender or "(unknown)", exc)  # fmt: skip
        return _Outcome("deferred", reason=f"cannot be filed now: {exc}",
                        stop=isinstance(exc, DBAPIError))  # fmt: skip
    return outcome


def _receive(session: Session, settings: Settings, actor: str, mail: InboundMail) -> _Outcome:
    try:
        with session.begin_nested():
            desk = Desk.of(session, settings)
            ticket, wrote = receive_mail(session, desk, mail, actor, currency=settings.currency)
            ticket_id = ticket.id
    except REFUSALS as exc:
        return _Outcome("skipped", None, mail.sender_email, mail.subject, _refusal(exc))
    kind = "filed" if wrote else "duplicate"
    return _Outcome(kind, ticket_id, mail.sender_email, mail.subject)


def _refusal(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return exc.message if isinstance(exc, SoloistError) else str(exc)


def acknowledge(
    connection: imaplib.IMAP4, uid: int, target: str | None, capabilities: frozenset[str]
) -> None:
    """Mark a dealt-with message read, and move it to ``target`` if one is set. Called only
    after the message's transaction committed; a refusal stops the poll (the message, read
    again next time, is found filed)."""
    _expect(connection.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "mark it read")
    if not target:
        return
    if "MOVE" in capabilities:
        _expect(connection.uid("MOVE", str(uid), mailbox_name(target)), f"move it to {target}")
        return
    _expect(connection.uid("COPY", str(uid), mailbox_name(target)), f"copy it to {target}")
    _expect(connection.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "delete it")
    if "UIDPLUS" in capabilities:  # else the copy left behind goes at the next EXPUNGE
        _expect(connection.uid("EXPUNGE", str(uid)), "delete it")


def _expect(answer: tuple[str, list[Any]], what: str) -> None:
    status, data = answer
    if status != "OK":
        raise _MailboxError(f"the server did not let us {what}: {_said(data)}")


# -- IMAP details --------------------------------------------------------------------------------


def mailbox_name(name: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501, 5.1.3), quoted."""
    out, pending = [], ""
    for char in name + "\0":
        if char != "\0" and not (" " <= char <= "~"):
            pending += char
            continue
        if pending:
            utf7 = binascii.b2a_base64(pending.encode("utf-16-be"), newline=False).decode()
            out.append("&" + utf7.rstrip("=").replace("/", ",") + "-")
            pending = ""
        if char != "\0":
            out.append("&-" if char == "&" else char)
    text = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _said(data: list[Any]) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d]
    return " ".join(parts) or "no reason given"


def _code_number(connection: imaplib.IMAP4, code: str) -> int | None:
    _, data = connection.response(code)
    try:
        return int(data[-1]) if data and data[-1] is not None else None
    except (TypeError, ValueError):
        return None


def _capabilities(connection: imaplib.IMAP4) -> frozenset[str]:
    status, data = connection.capability()  # after login: the list may have grown
    if status != "OK" or not data or not isinstance(data[-1], bytes):
        return frozenset(connection.capabilities)
    return frozenset(data[-1].decode("ascii", "replace").upper().split())


def _ensure_folder(connection: imaplib.IMAP4, name: str) -> None:
    status, data = connection.list('""', mailbox_name(name))
    if status == "OK" and any(data):
        return
    status, data = connection.create(mailbox_name(name))
    if status != "OK":
        raise _MailboxError(f"the folder {name!r} cannot be created: {_said(data)}")


def _search(connection: imaplib.IMAP4, criteria: str) -> list[int]:
    status, data = connection.uid("SEARCH", None, criteria)  # type: ignore[arg-type]
    if status != "OK":
        raise _MailboxError(f"the server refused SEARCH {criteria}: {_said(data)}")
    return [int(n) for chunk in data if isinstance(chunk, bytes) for n in chunk.split()]


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)"'
)
_MONTHS = {m: i for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
     b"dec"), 1)}  # fmt: skip


def _fetch_facts(
    connection: imaplib.IMAP4, uids: list[int]
) -> dict[int, tuple[int, dt.datetime | None]]:
    """Size and arrival time (INTERNALDATE) of each message, by UID."""
    status, data = connection.uid(
        "FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE INTERNALDATE)"
    )
    if status != "OK":
        raise _MailboxError(f"the server refused FETCH: {_said(data)}")
    facts: dict[int, tuple[int, dt.datetime | None]] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes) or not (uid := _UID.search(line)):
            continue
        size = _SIZE.search(line)
        facts[int(uid[1])] = (int(size[1]) if size else 0, _internal_date(line))
    return facts


def _internal_date(line: bytes) -> dt.datetime | None:
    found = _INTERNALDATE.search(line)
    if not found or found[2].lower() not in _MONTHS:
        return None
    day, _, year, hour, minute, second, sign, zh, zm = found.groups()
    offset = dt.timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == b"-" else 1)
    try:
        local = dt.datetime(int(year), _MONTHS[found[2].lower()], int(day), int(hour),
                            int(minute), int(second), tzinfo=dt.timezone(offset))  # fmt: skip
    except ValueError:
        return None
    return local.astimezone(dt.UTC)


def _fetch_message(connection: imaplib.IMAP4, uid: int) -> bytes | None:
    """The whole message, read with BODY.PEEK so that reading it does not mark it read."""
    status, data = connection.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
    if status != "OK":
        raise _MailboxError(f"the server refused FETCH {uid}: {_said(data)}")
    for item in data:
        if isinstance(item, tuple) and isinstance(item[1], bytes):
            found = _UID.search(item[0])
            if found is None or int(found[1]) == uid:
                return item[1]
    return None


def _read_mark(database: Database, account: str, uidvalidity: int | None) -> _Mark | None:
    if uidvalidity is None:
        return None
    with database.read_session() as session:
        row = session.get(WorkspaceSetting, MARK_KEY)
        value = dict(row.value) if row is not None and isinstance(row.value, dict) else {}
    if value.get("account") != account or value.get("uidvalidity") != uidvalidity:
        return None  # another folder, or its UIDs were renumbered
    return _Mark(account, uidvalidity, int(value.get("uid", 0)))


def _save_mark(database: Database, mark: _Mark) -> None:
    with database.session() as session:
        hold_named_lock(session, LOCK_NAME)
        _move_mark(session, mark)


def _move_mark(session: Session, mark: _Mark) -> None:
    """Move the mark forward to ``mark.uid`` (never back, unless the folder changed)."""
    row = session.get(WorkspaceSetting, MARK_KEY, with_for_update=True)
    value = {"account": mark.account, "uidvalidity": mark.uidvalidity, "uid": mark.uid}
    if row is None:
        session.add(WorkspaceSetting(key=MARK_KEY, value=value))
        return
    old = row.value if isinstance(row.value, dict) else {}
    same = old.get("account") == mark.account and old.get("uidvalidity") == mark.uidvalidity
    if same and int(old.get("uid", 0)) >= mark.uid:
        return
    row.value = value
