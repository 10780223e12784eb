"""The support desk's pages: the inbox and its filters, a new ticket, the thread (replies,
internal notes, canned replies, status buttons, priority, merging), the desk's settings, the
customer page's tickets and the dashboard's breach warning; read-only users see and cannot
change; the pages speak Chinese."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.service import (
    Desk,
    get_ticket,
    list_tickets,
    open_ticket,
    reply_to_ticket,
    save_canned_reply,
    save_service_calendar,
    save_sla_targets,
    service_calendar,
    set_ticket_status,
    sla_state,
    sla_targets,
)
from soloist.domain.users import add_user
from soloist.storage.database import Database
from soloist.web.labels import SLA_STATES
from soloist.web.tickets import URGENCY, list_badge, sla_badges
from tests.web.conftest import PASSWORD, raw_keys_and_reprs, sign_in, visible_texts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOW_TARGET_FIELDS = ("sla_low_first_h", "sla_low_first_m", "sla_low_resolution_h",
                     "sla_low_resolution_m")  # fmt: skip
ALWAYS_OPEN = {
    "timezone": "UTC",
    "hours": {day: [["00:00", "24:00"]] for day in WEEK},
    "holidays": [],
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _desk(database: Database) -> None:
    """A desk open around the clock (business minutes are minutes): normal tickets are
    answered within an hour and resolved within eight."""
    with database.session() as session:
        save_service_calendar(session, ALWAYS_OPEN, "test", _now())
        save_sla_targets(session, "normal", 60, 480, "test", _now(), "UTC")


def _customer(database: Database, name: str, email: str | None = None) -> int:
    with database.session() as session:
        return create_customer(session, CustomerCreate(name=name, email=email), "test").id


def _ticket(
    database: Database,
    customer_id: int | None,
    subject: str,
    *,
    ago: dt.timedelta = dt.timedelta(0),
    body: str = "Where is my order?",
    priority: str = "normal",
) -> int:
    with database.session() as session:
        desk = Desk.of(session, database.settings)
        ticket = open_ticket(
            session, desk, subject, body, "test", customer_id=customer_id,
            priority=priority, opened_at=_now() - ago,
        )  # fmt: skip
        return ticket.id


def _set_status(
    database: Database, ticket_id: int, status: str, at: dt.datetime | None = None
) -> None:
    with database.session() as session:
        desk = Desk.of(session, database.settings)
        set_ticket_status(session, desk, ticket_id, status, "test", at=at)


def _ticket_state(database: Database, ticket_id: int) -> tuple[str, dt.datetime | None, int]:
    with database.read_session() as session:
        ticket = get_ticket(session, ticket_id)
        return ticket.status, ticket.first_response_at, len(ticket.messages)


def _row(page: str, ticket_id: int) -> str:
    found = re.search(rf'<tr id="ticket-{ticket_id}">(.*?)</tr>', page, re.S)
    assert found, f"ticket {ticket_id} is not listed"
    return found.group(1)


def _listed(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'<tr id="ticket-(\d+)">', page)}


def test_the_inbox_lists_active_tickets_and_filters_them(
    web: TestClient, sqlite_database: Database
) -> None:
    _desk(sqlite_database)
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    late = _ticket(sqlite_database, ada, "Refund not received", ago=dt.timedelta(hours=3))
    # Waited ten minutes, then went to the customer: its clock stands, so hours later it is
    # paused and not past due, though it would be had the clock run on.
    waiting = _ticket(sqlite_database, ada, "Which size fits?", ago=dt.timedelta(hours=3))
    _set_status(sqlite_database, waiting, "pending", _now() - dt.timedelta(hours=2, minutes=50))
    done = _ticket(sqlite_database, ada, "Thanks!", ago=dt.timedelta(hours=1))
    _set_status(sqlite_database, done, "resolved")
    urgent = _ticket(sqlite_database, None, "Site is down", priority="urgent")
    sign_in(web)

    inbox = web.get("/tickets")
    assert inbox.status_code == 200
    assert _listed(inbox.text) == {late, waiting, urgent}
    row = _row(inbox.text, late)
    assert f'href="/tickets/{late}"' in row
    assert f'href="/customers/{ada}">Ada Lovelace</a>' in row
    assert 'class="sla sla-breached">breached</span>' in row
    assert "was due" in row
    assert 'class="sla sla-paused">paused</span>' in _row(inbox.text, waiting)
    # Urgent: answered within the hour (the targets a workspace starts with).
    assert 'class="sla sla-due_soon">due soon</span>' in _row(inbox.text, urgent)

    assert _listed(web.get("/tickets?breached=1").text) == {late}
    assert _listed(web.get("/tickets?status=resolved").text) == {done}
    assert _listed(web.get("/tickets?status=all").text) == {late, waiting, done, urgent}
    assert _listed(web.get("/tickets?q=refund").text) == {late}
    assert _listed(web.get("/tickets?priority=urgent").text) == {urgent}
    # Soonest resolution first (urgent: 4 hours from now; the late one: 8 hours from 3 hours
    # ago); the paused one, due at no time while it waits, last.
    by_due = web.get("/tickets?sort=due&status=active").text
    order = [by_due.index(f'id="ticket-{t}"') for t in (urgent, late, waiting)]
    assert order == sorted(order)
    newest = web.get("/tickets?sort=newest").text
    assert newest.index(f'id="ticket-{urgent}"') < newest.index(f'id="ticket-{late}"')
    assert 'id="no-tickets"' in web.get("/tickets?q=nothing-like-this").text


def test_the_inbox_pages_through_many_tickets(web: TestClient, sqlite_database: Database) -> None:
    customer = _customer(sqlite_database, "Many Questions")
    ids = [_ticket(sqlite_database, customer, f"Question {n}") for n in range(53)]
    sign_in(web)
    first = web.get("/tickets?sort=newest")
    assert len(_listed(first.text)) == 50
    assert "53 tickets" in first.text
    assert "page=2" in first.text
    second = web.get("/tickets?sort=newest&page=2")
    assert _listed(second.text) == set(ids) - _listed(first.text)


def test_a_new_ticket_is_opened_through_the_form(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    token = sign_in(web)
    assert 'href="/tickets/new"' in web.get("/tickets").text
    form = web.get(f"/tickets/new?customer={ada}")
    assert 'id="chosen-customer">Ada Lovelace · ada@example.com' in form.text

    unknown = web.post(
        "/tickets/new",
        data={"csrf_token": token, "customer": "nobody@example.com", "subject": "Hi",
              "body": "Hello", "priority": "normal"},
    )  # fmt: skip
    assert unknown.status_code == 404
    assert 'id="customer-error"' in unknown.text
    assert "No customer with this id or e-mail address." in unknown.text
    assert 'value="Hi"' in unknown.text  # what was typed stays

    created = web.post(
        "/tickets/new",
        data={"csrf_token": token, "customer": "ADA@example.com", "subject": "Broken zip",
              "body": "The zip of my bag broke.", "priority": "high"},
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303
    found = re.fullmatch(r"/tickets/(\d+)\?done=created", created.headers["location"])
    assert found
    ticket_id = int(found.group(1))
    page = web.get(created.headers["location"])
    assert f"#{ticket_id} Broken zip" in page.text
    assert "The zip of my bag broke." in page.text
    assert 'id="ticket-done"' in page.text
    with sqlite_database.read_session() as session:
        ticket = get_ticket(session, ticket_id)
        assert (ticket.customer_id, ticket.priority, ticket.status) == (ada, "high", "new")


def test_a_reply_is_the_first_response_waits_for_the_customer_and_is_recorded(
    web: TestClient, sqlite_database: Database
) -> None:
    _desk(sqlite_database)
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    ticket = _ticket(sqlite_database, ada, "Where is my order?")
    token = sign_in(web, "staff@example.com")
    page = web.get(f"/tickets/{ticket}")
    assert 'id="reply-form"' in page.text
    assert '<option value="pending" selected>' in page.text  # the default next status

    sent = web.post(
        f"/tickets/{ticket}/reply",
        data={"csrf_token": token, "body": "It ships today.", "status": "pending"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    # No mail server in the test workspace: the reply is kept on the ticket, not mailed.
    assert sent.headers["location"] == f"/tickets/{ticket}?done=reply_recorded"
    status, first_response, messages = _ticket_state(sqlite_database, ticket)
    assert (status, messages) == ("pending", 2)
    assert first_response is not None
    thread = web.get(sent.headers["location"]).text
    assert "recorded, not sent (no mail server)" in thread
    assert "It ships today." in thread
    assert 'class="sla sla-met">met</span>' in thread.split('id="sla-first-response"')[1]
    assert 'class="sla sla-paused">paused</span>' in thread.split('id="sla-resolution"')[1]

    empty = web.post(f"/tickets/{ticket}/reply", data={"csrf_token": token, "body": "  "})
    assert empty.status_code == 422
    assert 'id="body-error"' in empty.text
    assert _ticket_state(sqlite_database, ticket)[2] == 2


def test_a_reply_is_queued_for_the_worker_when_mail_is_set_up(
    sqlite_database: Database,
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    ticket = _ticket(sqlite_database, ada, "Where is my order?")
    with sqlite_database.session() as session:
        add_user(session, "staff@example.com", "staff", PASSWORD, "test")
    settings = sqlite_database.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "mail_from": "desk@example.com"}
    )
    with TestClient(create_app(settings, sqlite_database)) as client:
        token = sign_in(client, "staff@example.com")
        sent = client.post(
            f"/tickets/{ticket}/reply",
            data={"csrf_token": token, "body": "It ships today.", "status": "resolved"},
            follow_redirects=False,
        )
        assert sent.headers["location"] == f"/tickets/{ticket}?done=reply_queued"
        assert "queued for sending" in client.get(sent.headers["location"]).text
    assert _ticket_state(sqlite_database, ticket)[0] == "resolved"


def test_an_internal_note_changes_no_status_and_is_no_first_response(
    web: TestClient, sqlite_database: Database
) -> None:
    _desk(sqlite_database)
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    ticket = _ticket(sqlite_database, ada, "Where is my order?")
    token = sign_in(web)
    noted = web.post(
        f"/tickets/{ticket}/reply",
        data={"csrf_token": token, "body": "Ask the warehouse.", "internal": "1",
              "status": "resolved"},
        follow_redirects=False,
    )  # fmt: skip
    assert noted.headers["location"] == f"/tickets/{ticket}?done=noted"
    status, first_response, messages = _ticket_state(sqlite_database, ticket)
    assert (status, first_response, messages) == ("new", None, 2)
    thread = web.get(noted.headers["location"]).text
    note = thread.split('class="msg msg-internal"')[1].split("</li>")[0]
    assert "Internal note" in note
    assert "Ask the warehouse." in note
    assert "recorded, not sent" not in thread


def test_only_the_allowed_status_changes_are_offered_and_a_forged_one_changes_nothing(
    web: TestClient, sqlite_database: Database
) -> None:
    customer = _customer(sqlite_database, "Ada Lovelace")
    ticket = _ticket(sqlite_database, customer, "Thanks!")
    _set_status(sqlite_database, ticket, "resolved")
    token = sign_in(web)
    page = web.get(f"/tickets/{ticket}").text
    offered = set(re.findall(r'id="to-(\w+)"', page))
    assert offered == {"open", "closed"}

    forged = web.post(f"/tickets/{ticket}/status", data={"csrf_token": token, "status": "pending"})
    assert forged.status_code == 409
    assert "A ticket that is resolved cannot become pending; nothing changed." in forged.text
    assert 'id="transition-error"' in forged.text
    assert _ticket_state(sqlite_database, ticket)[0] == "resolved"

    reopened = web.post(
        f"/tickets/{ticket}/status",
        data={"csrf_token": token, "status": "open"},
        follow_redirects=False,
    )
    assert reopened.headers["location"] == f"/tickets/{ticket}?done=status"
    assert _ticket_state(sqlite_database, ticket)[0] == "open"

    _set_status(sqlite_database, ticket, "closed")
    closed = web.get(f"/tickets/{ticket}").text
    assert 'id="ticket-closed"' in closed
    for form in ('id="reply-form"', 'id="status-actions"', 'id="merge-form"'):
        assert form not in closed


def test_priority_changes_from_the_ticket_page(web: TestClient, sqlite_database: Database) -> None:
    ticket = _ticket(sqlite_database, _customer(sqlite_database, "Ada"), "Slow site")
    token = sign_in(web)
    changed = web.post(
        f"/tickets/{ticket}/priority",
        data={"csrf_token": token, "priority": "urgent"},
        follow_redirects=False,
    )
    assert changed.headers["location"] == f"/tickets/{ticket}?done=priority"
    with sqlite_database.read_session() as session:
        assert get_ticket(session, ticket).priority == "urgent"
    wrong = web.post(f"/tickets/{ticket}/priority", data={"csrf_token": token, "priority": "asap"})
    assert wrong.status_code == 422
    assert 'id="priority-error"' in wrong.text


def test_merging_a_duplicate_asks_first_then_moves_its_messages(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace")
    grace = _customer(sqlite_database, "Grace Hopper")
    first = _ticket(sqlite_database, ada, "Order 1001", body="Where is order 1001?")
    duplicate = _ticket(sqlite_database, ada, "Order 1001 again", body="Any news on 1001?")
    other = _ticket(sqlite_database, grace, "Invoice", body="Send me the invoice.")
    token = sign_in(web)

    stranger = web.post(
        f"/tickets/{duplicate}/merge", data={"csrf_token": token, "into": str(other)}
    )
    assert stranger.status_code == 422
    assert "Only tickets of the same customer can be merged." in stranger.text
    assert 'id="into-error"' in stranger.text

    asked = web.post(f"/tickets/{duplicate}/merge", data={"csrf_token": token, "into": f"#{first}"})
    assert asked.status_code == 200
    assert 'id="confirm-merge"' in asked.text.split('id="merge-confirm"')[1]
    assert _ticket_state(sqlite_database, duplicate)[0] == "new"  # only asked so far

    merged = web.post(
        f"/tickets/{duplicate}/merge",
        data={"csrf_token": token, "into": str(first), "confirm": "yes"},
        follow_redirects=False,
    )
    assert merged.headers["location"] == f"/tickets/{first}?done=merged&from={duplicate}"
    target = web.get(merged.headers["location"]).text
    thread = target.split('id="thread"')[1]
    assert thread.index("Where is order 1001?") < thread.index("Any news on 1001?")
    assert f"Ticket #{duplicate} was merged into this one" in target
    gone = web.get(f"/tickets/{duplicate}").text
    link = f'<a href="/tickets/{first}">#{first} Order 1001</a>'
    assert link in gone.split('id="merged-into"')[1]
    assert 'id="reply-form"' not in gone
    assert _ticket_state(sqlite_database, duplicate)[0] == "closed"


def test_a_canned_reply_is_inserted_without_javascript_and_written_out_for_it(
    web: TestClient, sqlite_database: Database
) -> None:
    ada = _customer(sqlite_database, "Ada Lovelace", "ada@example.com")
    ticket = _ticket(sqlite_database, ada, "Where is my order?")
    with sqlite_database.session() as session:
        reply_id = save_canned_reply(
            session, "Shipped", "Hello {{ customer.first_name }}, ticket {{ ticket.id }} shipped.",
            "test",
        ).id  # fmt: skip
    token = sign_in(web)
    page = web.get(f"/tickets/{ticket}").text
    data = page.split('<script type="application/json" id="canned-data">')[1].split("</script>")[0]
    expected = f"Hello Ada, ticket {ticket} shipped."
    assert json.loads(data) == {str(reply_id): expected}

    inserted = web.post(
        f"/tickets/{ticket}/reply",
        data={"csrf_token": token, "body": "Thanks for waiting.", "canned": str(reply_id),
              "action": "insert", "status": "resolved"},
    )  # fmt: skip
    assert inserted.status_code == 200
    textarea = inserted.text.split('id="reply-body"')[1].split(">", 1)[1].split("</textarea>")[0]
    assert html.unescape(textarea) == f"Thanks for waiting.\n\n{expected}"
    assert '<option value="resolved" selected>' in inserted.text  # the form as it was
    assert _ticket_state(sqlite_database, ticket)[2] == 1  # nothing sent


def _settings_form(token: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": token, "timezone": "Europe/London", "holidays": "2026-12-25\n2026-12-26"}
    for day in ("mon", "tue", "wed", "thu", "fri"):
        form.update({f"{day}_from_0": "09:00", f"{day}_to_0": "17:30"})
    form.update({"sat_from_0": "10:00", "sat_to_0": "14:00", "sat_from_1": "15:00",
                 "sat_to_1": "00:00"})  # fmt: skip
    targets = {"urgent": ("1", "0", "4", "0"), "high": ("2", "0", "8", "0"),
               "normal": ("2", "30", "16", "0"), "low": ("16", "0", "40", "0")}  # fmt: skip
    for priority, values in targets.items():
        parts = ("first_h", "first_m", "resolution_h", "resolution_m")
        form.update({f"sla_{priority}_{part}": v for part, v in zip(parts, values, strict=True)})
    form.update(changes)
    return form


def test_the_desk_settings_save_hours_holidays_and_targets_or_nothing(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    page = web.get("/settings/service")
    assert page.status_code == 200
    assert 'id="mon-from-0" value="09:00"' in page.text  # the default: weekdays 09:00–17:00

    saved = web.post("/settings/service", data=_settings_form(token), follow_redirects=False)
    assert saved.headers["location"] == "/settings/service?done=saved"
    with sqlite_database.read_session() as session:
        calendar = service_calendar(session, "UTC").to_json()
        targets = sla_targets(session)
    assert calendar["timezone"] == "Europe/London"
    assert calendar["hours"]["mon"] == [["09:00", "17:30"]]
    assert calendar["hours"]["sat"] == [["10:00", "14:00"], ["15:00", "24:00"]]
    assert calendar["hours"]["sun"] == []
    assert calendar["holidays"] == ["2026-12-25", "2026-12-26"]
    assert (targets["normal"].first_response_minutes, targets["normal"].resolution_minutes) == (
        150,
        960,
    )
    again = web.get("/settings/service").text
    assert 'id="sat-to-1" value="00:00"' in again
    assert 'id="normal-first-m" value="30"' in again

    bad = web.post(
        "/settings/service",
        data=_settings_form(token, mon_from_0="17:00", mon_to_0="09:00", holidays="2027-01-01",
                            sla_normal_first_h="3"),
    )  # fmt: skip
    assert bad.status_code == 422
    assert 'id="settings-error"' in bad.text
    error = bad.text.split('id="hours-mon-error"')[1].split("</span>")[0]
    assert "A range must close after it opens." in error
    assert 'id="mon-from-0" value="17:00"' in bad.text  # shown as typed, to correct
    with sqlite_database.read_session() as session:
        assert service_calendar(session, "UTC").to_json() == calendar  # nothing saved
        assert sla_targets(session)["normal"].first_response_minutes == 150

    cleared = web.post(
        "/settings/service",
        data=_settings_form(token, **dict.fromkeys(LOW_TARGET_FIELDS, "")),
    )
    assert cleared.status_code == 422
    assert "cannot be removed" in cleared.text.split('id="sla-low-first-error"')[1]

    late_first = web.post("/settings/service", data=_settings_form(token, sla_normal_first_h="20"))
    assert late_first.status_code == 422
    assert (
        "cannot be due after the resolution"
        in late_first.text.split('id="sla-normal-first-error"')[1].split("</span>")[0]
    )


def test_canned_replies_are_added_changed_and_deleted_in_the_settings(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web)
    added = web.post(
        "/settings/service/canned",
        data={"csrf_token": token, "title": "Shipped", "body": "It shipped, {{ customer.name }}.",
              "language": "en"},
        follow_redirects=False,
    )  # fmt: skip
    assert added.headers["location"] == "/settings/service?done=canned_saved#canned"
    page = web.get("/settings/service").text
    reply_id = int(re.search(r'id="canned-(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert "in English" in page.split(f'id="canned-{reply_id}"')[1].split("</tr>")[0]

    broken = web.post(
        "/settings/service/canned",
        data={"csrf_token": token, "id": str(reply_id), "title": "Shipped",
              "body": "It shipped, {{ customer.name "},
    )  # fmt: skip
    assert broken.status_code == 422
    assert 'id="canned-body-error"' in broken.text
    edit = web.get(f"/settings/service?edit={reply_id}").text
    assert "It shipped, {{ customer.name }}." in html.unescape(edit)

    changed = web.post(
        "/settings/service/canned",
        data={"csrf_token": token, "id": str(reply_id), "title": "Sent", "body": "On its way."},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "On its way." in web.get("/settings/service").text
    deleted = web.post(
        f"/settings/service/canned/{reply_id}/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert 'id="no-canned"' in web.get("/settings/service").text


def test_a_read_only_user_sees_the_desk_and_cannot_change_it(
    web: TestClient, sqlite_database: Database
) -> None:
    ticket = _ticket(sqlite_database, _customer(sqlite_database, "Ada"), "Where is my order?")
    token = sign_in(web, "viewer@example.com")
    inbox = web.get("/tickets").text
    assert _listed(inbox) == {ticket}
    assert 'id="new-ticket"' not in inbox
    page = web.get(f"/tickets/{ticket}").text
    assert "Where is my order?" in page
    assert '<form method="post" action="/tickets/' not in page
    assert web.get("/tickets/new").status_code == 403
    refused = web.post(f"/tickets/{ticket}/reply", data={"csrf_token": token, "body": "Hi"})
    assert refused.status_code == 403
    assert _ticket_state(sqlite_database, ticket)[2] == 1
    settings = web.get("/settings/service").text
    assert 'id="desk-form"' not in settings
    assert 'id="canned-form"' not in settings
    assert 'id="owner-only"' in settings
    assert web.post("/settings/service", data=_settings_form(token)).status_code == 403


def test_staff_answer_tickets_but_only_the_owner_changes_the_desk_settings(
    web: TestClient, sqlite_database: Database
) -> None:
    token = sign_in(web, "staff@example.com")
    assert 'id="desk-form"' not in web.get("/settings/service").text
    assert web.post("/settings/service", data=_settings_form(token)).status_code == 403
    canned = {"csrf_token": token, "title": "Hi", "body": "Hello."}
    assert web.post("/settings/service/canned", data=canned).status_code == 403


def test_the_desk_pages_speak_chinese(web: TestClient, sqlite_database: Database) -> None:
    _desk(sqlite_database)
    ticket = _ticket(sqlite_database, _customer(sqlite_database, "Ada"), "Where is my order?")
    _set_status(sqlite_database, ticket, "open")
    sign_in(web)
    for path in ("/tickets", f"/tickets/{ticket}", "/tickets/new", "/settings/service"):
        page = web.get(path, headers=CHINESE)
        assert page.status_code == 200, path
        assert page.headers["content-language"] == "zh-Hans"
        assert raw_keys_and_reprs(visible_texts(page.text)) == [], path
    inbox = web.get("/tickets", headers=CHINESE).text
    assert "待处理" in _row(inbox, ticket)  # "open"
    assert "普通优先级" in _row(inbox, ticket)
    settings = web.get("/settings/service", headers=CHINESE).text
    assert "星期一" in settings  # the weekdays in the reader's language


def test_the_customer_page_lists_the_customers_tickets(
    web: TestClient, sqlite_database: Database
) -> None:
    _desk(sqlite_database)
    ada = _customer(sqlite_database, "Ada Lovelace")
    grace = _customer(sqlite_database, "Grace Hopper")
    mine = _ticket(sqlite_database, ada, "Refund not received", ago=dt.timedelta(hours=2))
    theirs = _ticket(sqlite_database, grace, "Invoice")
    sign_in(web)
    page = web.get(f"/customers/{ada}").text
    block = page.split('id="customer-tickets"')[1].split("</section>")[0]
    assert f'<a href="/tickets/{mine}">#{mine} Refund not received</a>' in block
    assert f"/tickets/{theirs}" not in block
    assert 'class="sla sla-breached">breached</span>' in block
    assert f'href="/tickets/new?customer={ada}"' in block
    timeline = page.split('id="timeline"')[1]
    assert f'href="/tickets/{mine}"' in timeline


def test_the_dashboard_warns_of_tickets_past_their_sla(
    web: TestClient, sqlite_database: Database
) -> None:
    _desk(sqlite_database)
    customer = _customer(sqlite_database, "Ada")
    _ticket(sqlite_database, customer, "Late", ago=dt.timedelta(hours=3))
    _ticket(sqlite_database, customer, "Nearly late", ago=dt.timedelta(minutes=30))
    _ticket(sqlite_database, customer, "No target", priority="low")
    sign_in(web)
    board = web.get("/").text
    warning = board.split('id="breach-warning"')[1].split("</p>")[0]
    assert "1 ticket is past its SLA." in warning
    assert 'href="/tickets?breached=1&amp;sort=due"' in warning
    assert re.search(r'id="support-active">3<', board)
    assert re.search(r'id="support-breached">1<', board)
    assert re.search(r'id="support-due-soon">1<', board)
    # The navigation counts the new tickets, and those past their SLA.
    assert re.search(r'id="new-badge"><span class="sr">new: </span>3</span>', board)
    assert re.search(r'id="late-badge"><span class="sr">past their SLA: </span>1</span>', board)


def test_every_sla_state_has_a_label() -> None:
    states = {"met", "breached", "due", "due_soon", "paused", "none"}
    assert states <= set(SLA_STATES)


def test_a_lists_sla_badge_is_the_one_the_full_sla_count_gives(
    sqlite_database: Database,
) -> None:
    """The inbox reads a running clock from its due times instead of counting business
    minutes since it started: the same badge, for every kind of history, at any moment."""
    office = {"timezone": "Europe/London", "holidays": ["2026-03-04"],
              "hours": {day: [["09:00", "17:00"]] for day in WEEK[:5]}}  # fmt: skip
    monday = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    customer = _customer(sqlite_database, "Ada")
    with sqlite_database.session() as session:
        save_service_calendar(session, office, "test", monday)
        desk = Desk.of(session, sqlite_database.settings)

        def opened(hours: float, priority: str = "normal") -> int:
            at = monday + hours * hour
            ticket = open_ticket(session, desk, "Help", "Hello?", "test", customer_id=customer,
                                 priority=priority, opened_at=at)  # fmt: skip
            return ticket.id

        def answer(ticket: int, hours: float, status: str | None = None) -> None:
            reply_to_ticket(session, desk, ticket, "Hi.", "test", at=monday + hours * hour,
                            status=status)  # fmt: skip

        def move(ticket: int, hours: float, status: str) -> None:
            set_ticket_status(session, desk, ticket, status, "test", at=monday + hours * hour)

        opened(0)  # never answered
        opened(30, "urgent")
        answer(opened(1), 2, "open")  # answered on time, still open
        answer(opened(1), 60, "open")  # answered late, still open
        answer(opened(2), 3)  # waiting for the customer
        again = opened(2)
        answer(again, 3)
        move(again, 50, "open")  # the customer wrote again
        answered = opened(3)
        answer(answered, 4, "resolved")
        move(opened(4), 5, "closed")
    with sqlite_database.read_session() as session:
        calendar = Desk.of(session, sqlite_database.settings).calendar
        tickets, _total = list_tickets(session, limit=100)
        latest = dt.datetime.max.replace(tzinfo=dt.UTC)
        seen: set[str] = set()
        for now in (
            monday + 6 * hour,
            monday + 28 * hour,
            monday + 30.5 * hour,
            monday + 200 * hour,
        ):
            for ticket in tickets:
                full = min(
                    sla_badges(*sla_state(ticket, calendar, now)),
                    key=lambda b: (URGENCY[b.state], b.due_at or latest),
                )
                fast = list_badge(ticket, calendar, now)
                seen.add(fast.state)
                assert (fast.clock, fast.state, fast.due_at) == (
                    full.clock,
                    full.state,
                    full.due_at,
                )
    assert seen == {"due", "due_soon", "breached", "met", "paused"}
