"""The support mailbox, read over IMAP from a real server on loopback (pymap): e-mail becomes
tickets, replies find their threads, nothing is lost or filed twice."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import email.utils
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.imapserver import ImapServer
from tests.mailserver import free_port

from soloist.config import Settings
from soloist.domain.jobs.worker import Worker
from soloist.domain.service import (
    Desk,
    add_business_minutes,
    poll_support_mailbox,
    reply_to_ticket,
)
from soloist.domain.service import mailbox as mailbox_module
from soloist.domain.service.inbound import decode_header, strip_quoted
from soloist.storage.database import Database
from soloist.storage.models import Customer, Ticket, TicketMessage

ACTOR = "test:mailbox"


@pytest.fixture(scope="module")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with ImapServer(tmp_path_factory.mktemp("imap")) as server:
        yield server


def point_at(database: Database, server: ImapServer, **more: str) -> str:
    """Point the database's settings at a new, empty folder of ``server``; the folder's name."""
    folder = server.new_folder()
    values = server.settings(folder, **more)
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    return folder


def compose(
    subject: str = "Where is my order?",
    body: str = "It has been a week.",
    *,
    sender: str = "Grace Hopper <grace@example.org>",
    message_id: str | None = "<first@example.org>",
    date: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@coffee.example"
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(
        date or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    )
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    return message.as_bytes(policy=email.policy.SMTP)


def tickets(database: Database) -> list[Ticket]:
    with database.read_session() as session:
        found = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        for ticket in found:
            _ = ticket.messages  # loaded while the session is open
        return found


def customer_of(database: Database, ticket: Ticket) -> Customer:
    with database.read_session() as session:
        customer = session.get(Customer, ticket.customer_id)
        assert customer is not None
        return customer


def test_a_new_mail_opens_a_ticket_for_a_new_customer(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    uid = imap_server.deliver(folder, compose())

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert (report.fetched, report.filed, report.duplicates, report.skipped) == (1, 1, 0, [])
    [ticket] = tickets(sqlite_database)
    assert report.tickets == [ticket.id]
    assert (ticket.subject, ticket.channel, ticket.status) == ("Where is my order?", "email", "new")
    assert [(m.author_kind, m.body, m.message_id) for m in ticket.messages] == [
        ("customer", "It has been a week.", "<first@example.org>")
    ]
    customer = customer_of(sqlite_database, ticket)
    assert (customer.email, customer.name) == ("grace@example.org", "Grace Hopper")
    assert imap_server.search(folder, "UNSEEN") == []  # filed, so marked read
    assert imap_server.search(folder, "SEEN") == [uid]
    assert "1 read, 1 filed, 0 already filed, 0 skipped" in report.summary()


def test_a_reply_to_a_staff_reply_joins_its_ticket_and_reopens_it(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    imap_server.deliver(folder, compose())
    poll_support_mailbox(sqlite_database, ACTOR)
    [ticket] = tickets(sqlite_database)
    with sqlite_database.session() as session:
        desk = Desk.of(session, sqlite_database.settings)
        reply_to_ticket(session, desk, ticket.id, "It left on Monday.", "user:1",
                        message_id="<staff-1@coffee.example>",
                        at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))  # fmt: skip
    assert tickets(sqlite_database)[0].status == "pending"
    answer = (
        "Still nothing here.\n\n"
        "On Tue, 6 May 2025 at 10:00, Ada's Coffee <ada@coffee.example>\nwrote:\n"
        "> It left on Monday.\n"
    )
    # A subject of its own: the thread is found by In-Reply-To, not by the subject.
    imap_server.deliver(folder, compose("Another question", answer,
        message_id="<second@example.org>", date=dt.datetime.now(dt.UTC),
        headers={"In-Reply-To": "<staff-1@coffee.example>",
                 "References": "<first@example.org> <staff-1@coffee.example>"}))  # fmt: skip

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert report.filed == 1
    [same] = tickets(sqlite_database)
    assert report.tickets == [same.id] == [ticket.id]
    assert same.status == "open"  # the customer answered: it waits on us again
    assert [(m.author_kind, m.body) for m in same.messages] == [
        ("customer", "It has been a week."),
        ("staff", "It left on Monday."),
        ("customer", "Still nothing here."),  # the quoted reply and its "wrote:" line cut
    ]


def test_a_gbk_mail_labelled_gb2312_files_with_its_chinese_subject(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    # 镕 is in GBK but not in GB2312: Chinese mailers label such text GB2312 all the same.
    subject = "关于订单的问题：镕"
    name = "张三"

    def word(text: str) -> str:
        return f"=?gb2312?B?{base64.b64encode(text.encode('gbk')).decode()}?="

    raw = (
        f"From: {word(name)} <zhang.san@example.cn>\r\n"
        f"To: support@coffee.example\r\nSubject: {word(subject)}\r\n"
        "Date: Thu, 01 May 2025 10:00:00 +0800\r\nMessage-ID: <gbk-1@example.cn>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=gb2312\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "你好，我的订单还没有到。镕\r\n".encode("gbk")
    imap_server.deliver(folder, raw)

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert report.filed == 1
    [ticket] = tickets(sqlite_database)
    assert ticket.subject == subject
    assert ticket.messages[0].body == "你好，我的订单还没有到。镕"
    assert customer_of(sqlite_database, ticket).name == name


def test_an_html_only_mail_is_filed_as_its_text(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    html = (
        "<html><head><style>p { color: red }</style><title>Order</title></head><body>"
        "<p>Hello&nbsp;there,</p><p>my <b>order</b> <a href='https://shop.example/o/7'>#7</a>"
        " &amp; the invoice<br>are missing.</p><script>alert('x')</script>"
        "<div class='gmail_quote'>On Mon, 5 May 2025, Ada &lt;ada@coffee.example&gt; wrote:"
        "<blockquote><p>We shipped it.</p></blockquote></div></body></html>"
    )
    imap_server.deliver(folder, compose(html=html))

    poll_support_mailbox(sqlite_database, ACTOR)

    [ticket] = tickets(sqlite_database)
    assert ticket.messages[0].body == (
        "Hello there,\n\nmy order #7 <https://shop.example/o/7> & the invoice\nare missing."
    )


def test_automatic_replies_bounces_and_our_own_mail_are_skipped_and_marked_read(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    vacation = compose("Out of office", "Back on Monday.", message_id="<ooo@example.org>",
                       headers={"Auto-Submitted": "auto-replied"})  # fmt: skip
    bounce = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        b"To: ada@coffee.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce-1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    newsletter = compose("Weekly deals", "Buy now", message_id="<bulk@example.org>",
                         headers={"Precedence": "bulk"})  # fmt: skip
    ours = compose("Re: Where is my order?", "It left on Monday.",
                   sender="Ada's Coffee <ada@coffee.example>",
                   message_id="<ours@coffee.example>")  # fmt: skip
    for raw in (vacation, bounce, newsletter, ours):
        imap_server.deliver(folder, raw)

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert tickets(sqlite_database) == []
    assert (report.fetched, report.filed) == (4, 0)
    assert [s.reason for s in report.skipped] == [
        "an automatic message (Auto-Submitted: auto-replied)",
        "a delivery report (bounce)",
        "bulk mail (Precedence: bulk)",
        "sent from our own address",
    ]
    assert imap_server.search(folder, "UNSEEN") == []
    assert "4 skipped" in report.summary()
    assert "Out of office" in report.summary()


def test_contact_form_mail_from_our_own_address_is_filed_for_its_reply_to(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    imap_server.deliver(folder, compose("Contact form", "Do you ship to Wales?",
        sender="Ada's Coffee <ada@coffee.example>",
        headers={"Reply-To": "Rhys Jones <rhys@example.co.uk>"}))  # fmt: skip

    poll_support_mailbox(sqlite_database, ACTOR)

    [ticket] = tickets(sqlite_database)
    customer = customer_of(sqlite_database, ticket)
    assert (customer.email, customer.name) == ("rhys@example.co.uk", "Rhys Jones")


def test_a_sender_that_is_not_an_address_is_reported_and_the_rest_is_filed(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    imap_server.deliver(folder, compose(sender="Printer <scanner@localhost>",
                                        message_id="<scan@localhost>"))  # fmt: skip
    imap_server.deliver(folder, compose(message_id="<good@example.org>"))

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert report.filed == 1
    [skipped] = report.skipped
    assert skipped.sender == "scanner@localhost"
    assert "Not an e-mail address" in skipped.reason
    assert len(tickets(sqlite_database)) == 1
    assert imap_server.search(folder, "UNSEEN") == []  # neither comes back every minute


def test_a_message_over_the_size_limit_is_reported_not_fetched(
    sqlite_database: Database, imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = point_at(sqlite_database, imap_server)
    imap_server.deliver(folder, compose(body="x" * 5000))
    monkeypatch.setattr(mailbox_module, "MAX_MESSAGE_BYTES", 4096)

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert tickets(sqlite_database) == []
    assert [s.reason for s in report.skipped] == ["too large to read (over 4,096 bytes)"]
    assert imap_server.search(folder, "UNSEEN") == []


def test_polling_again_files_nothing_twice(database: Database, imap_server: ImapServer) -> None:
    folder = point_at(database, imap_server)
    first = imap_server.deliver(folder, compose())
    # No Message-ID: one is made from the message's bytes, the same at every reading.
    second = imap_server.deliver(
        folder, compose("Refund", "Please refund order 12.", message_id=None)
    )
    assert poll_support_mailbox(database, ACTOR).filed == 2
    assert poll_support_mailbox(database, ACTOR).fetched == 0  # nothing new

    # Both unread again (a mail client, or a crash before the mark): read again, filed once.
    for uid in (first, second):
        connection = imap_server.client()
        connection.select(f'"{folder}"')
        connection.uid("STORE", str(uid), "-FLAGS", r"(\Seen)")
        connection.logout()
    report = poll_support_mailbox(database, ACTOR)

    assert (report.fetched, report.filed, report.duplicates) == (2, 0, 2)
    assert len(tickets(database)) == 2
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(TicketMessage)) == 2


class Crash(BaseException):
    """The process dies here (not an error the poll could catch)."""


def test_a_crash_after_the_commit_loses_no_message_and_files_none_twice(
    database: Database, imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = point_at(database, imap_server)
    first = imap_server.deliver(folder, compose())
    second = imap_server.deliver(folder, compose("Refund", "Please.", message_id="<r@example.org>"))
    real = mailbox_module.acknowledge

    def crash(*args: object) -> None:
        raise Crash  # after the first message's commit, before it is marked read

    monkeypatch.setattr(mailbox_module, "acknowledge", crash)
    with pytest.raises(Crash):
        poll_support_mailbox(database, ACTOR)
    assert [t.subject for t in tickets(database)] == ["Where is my order?"]
    assert imap_server.search(folder, "UNSEEN") == [first, second]  # neither marked read

    monkeypatch.setattr(mailbox_module, "acknowledge", real)
    report = poll_support_mailbox(database, ACTOR)

    assert (report.fetched, report.filed, report.duplicates) == (2, 1, 1)
    assert [t.subject for t in tickets(database)] == ["Where is my order?", "Refund"]
    assert [len(t.messages) for t in tickets(database)] == [1, 1]
    assert imap_server.search(folder, "UNSEEN") == []


def test_a_crash_before_the_commit_leaves_the_message_for_the_next_poll(
    sqlite_database: Database, imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = point_at(sqlite_database, imap_server)
    uid = imap_server.deliver(folder, compose())

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(mailbox_module, "receive_mail", crash)
        with pytest.raises(Crash):
            poll_support_mailbox(sqlite_database, ACTOR)
    assert tickets(sqlite_database) == []
    assert imap_server.search(folder, "UNSEEN") == [uid]

    assert poll_support_mailbox(sqlite_database, ACTOR).filed == 1
    assert len(tickets(sqlite_database)) == 1


def test_mail_opened_in_a_mail_client_first_is_filed_all_the_same(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    old = imap_server.deliver(folder, compose("Old", "Read long ago.", message_id="<old@x.org>"))
    imap_server.mark_read(folder, old)
    assert poll_support_mailbox(sqlite_database, ACTOR).fetched == 0  # old read mail stays old
    new = imap_server.deliver(folder, compose())
    imap_server.mark_read(folder, new)  # the owner glanced at it on the phone

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert report.filed == 1
    assert [t.subject for t in tickets(sqlite_database)] == ["Where is my order?"]


def test_filed_mail_moves_to_the_processed_folder(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    processed = "已处理 tickets"  # a folder name in modified UTF-7 on the wire
    folder = point_at(sqlite_database, imap_server, imap_processed_mailbox=processed)
    imap_server.deliver(folder, compose())

    assert poll_support_mailbox(sqlite_database, ACTOR).filed == 1

    assert imap_server.search(folder) == []
    connection = imap_server.client()
    try:
        status, _ = connection.select(mailbox_module.mailbox_name(processed))
        assert status == "OK"
        _, data = connection.uid("SEARCH", None, "SEEN")  # type: ignore[arg-type]
        assert len(data[0].split()) == 1
    finally:
        connection.logout()


def test_the_sla_clock_starts_at_the_mails_time(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    sent = dt.datetime(2025, 5, 1, 9, 30, tzinfo=dt.UTC)  # a Thursday, within hours
    imap_server.deliver(folder, compose(date=sent), arrived_at=sent + dt.timedelta(minutes=1))

    poll_support_mailbox(sqlite_database, ACTOR, sent + dt.timedelta(minutes=90))

    [ticket] = tickets(sqlite_database)
    assert ticket.opened_at == ticket.sla_clock_started_at == sent
    with sqlite_database.read_session() as session:
        calendar = Desk.of(session, sqlite_database.settings).calendar
    assert ticket.first_response_target_minutes
    assert ticket.first_response_due_at == add_business_minutes(
        calendar, sent, ticket.first_response_target_minutes
    )


def test_a_login_failure_is_one_clear_line_and_no_exception(
    sqlite_database: Database, imap_server: ImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    point_at(sqlite_database, imap_server, imap_password="wrong")
    caplog.set_level(logging.WARNING, logger="soloist")

    report = poll_support_mailbox(sqlite_database, ACTOR)

    assert "AUTHENTICATIONFAILED" in (report.error or "")
    assert report.fetched == 0
    [line] = [r.getMessage() for r in caplog.records]
    assert f"127.0.0.1:{imap_server.port}" in line
    assert "AUTHENTICATIONFAILED" in line
    caplog.clear()
    again = Worker(sqlite_database)
    again.run_automations(force=True)  # the worker's step: no traceback, no second line
    assert not [r for r in caplog.records if "mailbox" in r.getMessage()]


def test_an_unreachable_server_is_reported(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    point_at(sqlite_database, imap_server, imap_port=str(free_port()))
    report = poll_support_mailbox(sqlite_database, ACTOR)
    error = report.error or ""
    assert "cannot connect and log in: [Errno 111] Connection refused" in error
    assert error in report.summary()


def test_the_worker_files_the_mailbox_once_a_minute(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    imap_server.deliver(folder, compose())

    Worker(sqlite_database).run_automations(force=True)

    assert [t.subject for t in tickets(sqlite_database)] == ["Where is my order?"]


def test_starttls_is_used_and_the_certificate_checked(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with ImapServer(tmp_path, tls=True) as server:
        folder = point_at(sqlite_database, server)
        server.deliver(folder, compose())
        untrusted = poll_support_mailbox(sqlite_database, ACTOR)  # the system's CAs
        assert "CERTIFICATE_VERIFY_FAILED" in (untrusted.error or "")
        assert tickets(sqlite_database) == []

        report = poll_support_mailbox(sqlite_database, ACTOR, ssl_context=server.ssl_context)

    assert report.filed == 1


def test_nothing_happens_without_a_mailbox(sqlite_database: Database) -> None:
    report = poll_support_mailbox(sqlite_database, ACTOR)
    assert not report.configured
    assert report.error is None
    assert "No support mailbox" in report.summary()


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Thanks!\n\n在 2025年5月1日 周四 09:00，Ada <ada@x> 写道：\n> 已发货\n> 谢谢", "Thanks!"),
        ("Thanks!\n\nOn Thu, May 1, 2025 at 9:00 AM Ada\n<ada@x> wrote:\n>\n> Shipped", "Thanks!"),
        ("好的\n\n------------------ 原始邮件 ------------------\n发件人: Ada", "好的"),
        # Answers between the quoted lines are the message: nothing is cut.
        ("> Which size?\nLarge.\n> Which colour?\nBlue.",) * 2,
        # A message that is all quote is kept whole rather than filed empty.
        ("> see below", "> see below"),
    ],
)
def test_quoted_history_is_cut_only_where_clearly_marked(text: str, kept: str) -> None:
    assert strip_quoted(text) == kept


def test_encoded_words_split_inside_a_character_join_before_decoding() -> None:
    data = "订单".encode()  # six bytes, split after the fourth (inside 单)
    first, second = base64.b64encode(data[:4]).decode(), base64.b64encode(data[4:]).decode()
    assert decode_header(f"=?UTF-8?B?{first}?=\r\n =?UTF-8?B?{second}?= 12") == "订单 12"


def test_without_move_a_message_is_copied_and_expunged(
    sqlite_database: Database, imap_server: ImapServer
) -> None:
    folder = point_at(sqlite_database, imap_server)
    target = imap_server.new_folder()
    uid = imap_server.deliver(folder, compose())
    connection = imap_server.client()
    try:
        connection.select(f'"{folder}"')
        # A server without MOVE (RFC 6851): COPY, flag \Deleted, UID EXPUNGE (UIDPLUS).
        mailbox_module.acknowledge(connection, uid, target, frozenset({"UIDPLUS"}))
    finally:
        connection.logout()
    assert imap_server.search(folder) == []
    assert len(imap_server.search(target, "SEEN")) == 1
