"""The support desk's settings page: business hours per weekday (up to two ranges a day, or
closed), the time zone and holidays the SLA clocks count in, the targets per priority in hours
and minutes, and the canned replies.

Everyone signed in sees the settings; only the owner changes them. A form with a mistake is
shown again with each error next to its field, and nothing of it is saved.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Annotated, Any

from babel.dates import get_day_names
from fastapi import APIRouter, Form, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from soloist.domain.service import (
    BusinessCalendar,
    delete_canned_reply,
    list_canned_replies,
    save_canned_reply,
    save_service_calendar,
    save_sla_targets,
    service_calendar,
    sla_targets,
)
from soloist.errors import SoloistError, ValidationError
from soloist.web.campaigns import problem_of
from soloist.web.labels import CANNED_LANGUAGES, N_, TICKET_PRIORITIES
from soloist.web.rendering import render, wording
from soloist.web.security import CsrfChecked, CurrentUser, OwnerUser, WebUser

router = APIRouter(include_in_schema=False)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RANGES_SHOWN = 2  # ranges a day's row offers (more when the stored calendar has more)
PRIORITIES = tuple(TICKET_PRIORITIES)
TIME = re.compile(r"(\d{1,2}):(\d{2})(?::00)?")
DONE = frozenset(("saved", "unchanged", "canned_saved", "canned_deleted"))
# The time zones offered: the IANA names of places (Europe/London), and UTC.
ZONES = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/"))
ZONES = sorted({*ZONES, "UTC"})


@dataclass
class DeskForm:
    """The hours, zone, holidays and targets as the form holds them (text, as typed)."""

    timezone: str = "UTC"
    hours: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    holidays: str = ""
    targets: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class CannedForm:
    id: str = ""
    title: str = ""
    body: str = ""
    language: str = ""


def _clock(text: str) -> str:
    """A stored time for a time input: 24:00 (midnight, ending a range) reads 00:00."""
    return "00:00" if text == "24:00" else text


def saved_form(session: Any, timezone: str) -> DeskForm:
    calendar = service_calendar(session, timezone).to_json()
    targets = sla_targets(session)
    form = DeskForm(
        timezone=calendar["timezone"],
        hours={
            day: [(_clock(a), _clock(b)) for a, b in calendar["hours"].get(day, [])] for day in DAYS
        },
        holidays="\n".join(calendar["holidays"]),
    )
    for priority in PRIORITIES:
        target = targets.get(priority)
        values = {"first_h": "", "first_m": "", "resolution_h": "", "resolution_m": ""}
        if target is not None:
            for name, minutes in (
                ("first", target.first_response_minutes),
                ("resolution", target.resolution_minutes),
            ):
                values[f"{name}_h"], values[f"{name}_m"] = map(str, divmod(minutes, 60))
        form.targets[priority] = values
    return form


def submitted_form(data: FormData) -> DeskForm:
    def text(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) else ""

    form = DeskForm(timezone=text("timezone"), holidays=text("holidays"))
    for day in DAYS:
        ranges, index = [], 0
        while f"{day}_from_{index}" in data or index < RANGES_SHOWN:
            ranges.append((text(f"{day}_from_{index}"), text(f"{day}_to_{index}")))
            index += 1
        form.hours[day] = ranges
    for priority in PRIORITIES:
        form.targets[priority] = {
            part: text(f"sla_{priority}_{part}")
            for part in ("first_h", "first_m", "resolution_h", "resolution_m")
        }
    return form


def _minute(text: str, *, end: bool) -> int | None:
    found = TIME.fullmatch(text)
    if not found:
        return None
    hour, minute = int(found[1]), int(found[2])
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    value = hour * 60 + minute
    return 1440 if end and value == 0 else value


def _padded(ranges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A day's ranges and empty ones up to ``RANGES_SHOWN``, for the form's row."""
    return ranges + [("", "")] * (RANGES_SHOWN - len(ranges))


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def calendar_json(form: DeskForm, errors: dict[str, dict[str, Any]], _: Any) -> dict[str, Any]:
    """The calendar JSON the domain reads; each mistake goes into ``errors`` by field."""

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, {"sentence": _(message), "detail": None})

    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        ranges: list[tuple[int, int]] = []
        for start_text, end_text in form.hours.get(day, []):
            if not start_text and not end_text:
                continue
            if not start_text or not end_text:
                fail(f"hours_{day}", N_("Give both the opening and the closing time."))
                continue
            start, end = _minute(start_text, end=False), _minute(end_text, end=True)
            if start is None or end is None:
                fail(f"hours_{day}", N_("Give times like 09:00."))
            elif start >= end:
                fail(f"hours_{day}", N_("A range must close after it opens."))
            else:
                ranges.append((start, end))
        ranges.sort()
        if any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ranges)):
            fail(f"hours_{day}", N_("The ranges of a day must not overlap."))
        hours[day] = [[_clock_text(a), _clock_text(b)] for a, b in ranges]
    if not any(hours.values()) and not any(k.startswith("hours_") for k in errors):
        fail("hours", N_("Open on at least one day of the week."))
    if form.timezone not in zoneinfo.available_timezones():  # an old name still counts
        fail("timezone", N_("Choose a time zone from the list."))
    holidays = []
    for line in form.holidays.splitlines():
        if not line.strip():
            continue
        try:
            holidays.append(dt.date.fromisoformat(line.strip()).isoformat())
        except ValueError:
            fail("holidays", N_("Write each holiday as a date like 2026-12-25, one a line."))
    return {"timezone": form.timezone, "hours": hours, "holidays": sorted(set(holidays))}


def target_minutes(
    form: DeskForm, errors: dict[str, dict[str, Any]], _: Any
) -> dict[str, tuple[int, int]]:
    """The targets in minutes per priority (a priority left blank has none)."""
    found = {}
    for priority in PRIORITIES:
        values = form.targets.get(priority, {})
        if not any(values.values()):
            continue
        totals = []
        for clock in ("first", "resolution"):
            name = f"sla_{priority}_{clock}"
            hours, minutes = values.get(f"{clock}_h") or "0", values.get(f"{clock}_m") or "0"
            if not (hours.isdigit() and minutes.isdigit()) or len(hours) > 7 or len(minutes) > 9:
                errors[name] = {"sentence": _(N_("Hours and minutes are whole numbers.")),
                                "detail": None}  # fmt: skip
                continue
            total = int(hours) * 60 + int(minutes)
            if total < 1:
                errors[name] = {"sentence": _(N_("A target is at least one minute.")),
                                "detail": None}  # fmt: skip
            totals.append(total)
        if len(totals) == 2 and min(totals) >= 1:
            if totals[0] > totals[1]:
                errors[f"sla_{priority}_first"] = {
                    "sentence": _(N_("The first response cannot be due after the resolution.")),
                    "detail": None,
                }
            found[priority] = (totals[0], totals[1])
    return found


def _page(
    request: Request,
    user: WebUser,
    *,
    form: DeskForm | None = None,
    canned: CannedForm | None = None,
    errors: dict[str, dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    settings = request.app.state.settings
    words = wording(request, user)
    with request.app.state.database.read_session() as session:
        form = form or saved_form(session, settings.timezone)
        replies = list_canned_replies(session)
        edit = request.query_params.get("edit", "")
        if canned is None and edit.isdigit():
            chosen = next((r for r in replies if str(r.id) == edit), None)
            if chosen is not None:
                canned = CannedForm(str(chosen.id), chosen.title, chosen.body,
                                    chosen.language or "")  # fmt: skip
        names = get_day_names("wide", locale=words.fmt.babel_locale)
        rows = {day: _padded(form.hours.get(day, [])) for day in DAYS}
        done = request.query_params.get("done")
        context = {
            "form": form,
            "rows": rows,
            "days": [(day, names[index]) for index, day in enumerate(DAYS)],
            "priorities": PRIORITIES,
            "zones": ZONES if form.timezone in ZONES else [form.timezone, *ZONES],
            "replies": replies,
            "canned": canned or CannedForm(),
            "languages": tuple(CANNED_LANGUAGES),
            "errors": errors or {},
            "owner": user.role == "owner",
            "done": done if done in DONE and not errors else None,
        }
        return render(request, "tickets/settings.html", context, user=user,
                      status_code=status_code)  # fmt: skip


@router.get("/settings/service")
def service_settings(request: Request, user: CurrentUser) -> Response:
    return _page(request, user)


def _domain_field(exc: SoloistError, priority: str | None) -> str:
    """Where the form shows an error the domain found."""
    name = str(exc.details.get("field") or "")
    if priority is not None:
        return f"sla_{priority}_{'first' if name.startswith('first') else 'resolution'}"
    if name.startswith("hours."):
        return f"hours_{name.split('.', 1)[1]}"
    return name if name in ("timezone", "holidays") else "hours"


@router.post("/settings/service", dependencies=[CsrfChecked])
async def save_service_settings(request: Request, user: OwnerUser) -> Response:
    """Save the hours, zone, holidays and targets together, or nothing when any is wrong."""
    settings = request.app.state.settings
    _ = wording(request, user)._
    form = submitted_form(await request.form())
    errors: dict[str, dict[str, Any]] = {}
    calendar = calendar_json(form, errors, _)
    targets = target_minutes(form, errors, _)
    with request.app.state.database.read_session() as session:
        saved = sla_targets(session)
    for priority in saved:
        if priority not in targets and not any(k.startswith(f"sla_{priority}_") for k in errors):
            sentence = _(N_("A target once set cannot be removed; give hours and minutes."))
            errors[f"sla_{priority}_first"] = {"sentence": sentence, "detail": None}
    if errors:
        return _page(request, user, form=form, errors=errors, status_code=422)
    saving: str | None = None  # the priority whose targets are being saved
    changed = False
    now = dt.datetime.now(dt.UTC)
    try:
        with request.app.state.database.session() as session:
            current = service_calendar(session, settings.timezone).to_json()
            if BusinessCalendar.from_json(calendar).to_json() != current:
                save_service_calendar(
                    session, calendar, user.actor, now, timezone=settings.timezone
                )
                changed = True
            for saving, (first, resolution) in targets.items():
                old = saved.get(saving)
                if old and (old.first_response_minutes, old.resolution_minutes) == (
                    first,
                    resolution,
                ):
                    continue
                save_sla_targets(
                    session, saving, first, resolution, user.actor, now, calendar["timezone"]
                )
                changed = True
    except SoloistError as exc:
        problem = problem_of(request, exc)
        name = _domain_field(exc, saving)
        errors[name] = {"sentence": problem["sentence"], "detail": problem["detail"]}
        return _page(request, user, form=form, errors=errors, status_code=problem["http_status"])
    done = "saved" if changed else "unchanged"
    return RedirectResponse(f"/settings/service?done={done}", status_code=303)


@router.post("/settings/service/canned", dependencies=[CsrfChecked])
def save_canned(
    request: Request,
    user: OwnerUser,
    id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    canned = CannedForm(id.strip(), title, body, language if language in CANNED_LANGUAGES else "")
    try:
        if not title.strip():
            raise ValidationError(N_("Give the canned reply a title."), field="title")
        if not body.strip():
            raise ValidationError(N_("Write the canned reply's text."), field="body")
        with request.app.state.database.session() as session:
            save_canned_reply(
                session, title, body, user.actor, language=canned.language or None,
                reply_id=int(canned.id) if canned.id.isdigit() else None,
            )  # fmt: skip
    except SoloistError as exc:
        problem = problem_of(request, exc)
        name = f"canned_{problem['field'] or 'title'}"
        errors = {name: {"sentence": problem["sentence"], "detail": problem["detail"]}}
        return _page(request, user, canned=canned, errors=errors,
                     status_code=problem["http_status"])  # fmt: skip
    return RedirectResponse("/settings/service?done=canned_saved#canned", status_code=303)


@router.post("/settings/service/canned/{reply_id}/delete", dependencies=[CsrfChecked])
def remove_canned(request: Request, reply_id: int, user: OwnerUser) -> Response:
    with request.app.state.database.session() as session:
        delete_canned_reply(session, reply_id, user.actor)
    return RedirectResponse("/settings/service?done=canned_deleted#canned", status_code=303)
