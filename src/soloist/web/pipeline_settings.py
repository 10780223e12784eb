"""The pipeline's settings page: the stages (rename, win probability, order, add, delete an
empty one), when a deal counts as stale, and the rules that create tasks (a deal reaching a
stage; a valuable customer's churn risk crossing a threshold; a ticket breaching its SLA).

Everyone signed in sees the settings; only the owner changes them. Each form saves one thing;
an error is shown next to its field, and nothing of that form is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from soloist.domain.sales import (
    BUILT_IN_STAGE_NAMES,
    RULE_KINDS,
    add_task_rule,
    create_stage,
    deal_counts_by_stage,
    delete_stage,
    get_sales_settings,
    list_stages,
    move_stage,
    remove_task_rule,
    rename_stage,
    set_stage_probability,
    task_rules,
    update_sales_settings,
)
from soloist.errors import ConflictError, SoloistError, ValidationError
from soloist.web.campaigns import problem_of
from soloist.web.deals import stage_names
from soloist.web.labels import N_
from soloist.web.rendering import render, wording
from soloist.web.security import CsrfChecked, CurrentUser, OwnerUser, WebUser

if TYPE_CHECKING:
    pass

router = APIRouter(include_in_schema=False)

PAGE = "/settings/pipeline"
DONE = frozenset(
    (
        "stage_saved",
        "stage_added",
        "stage_moved",
        "stage_deleted",
        "stale_saved",
        "rule_added",
        "rule_removed",
        "unchanged",
    )
)

Errors = dict[str, dict[str, Any]]


def _page(
    request: Request,
    user: WebUser,
    *,
    errors: Errors | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The page; ``typed`` holds what a form with a mistake had in it, by field."""
    words = wording(request, user)
    with request.app.state.database.read_session() as session:
        stages = list_stages(session)
        counts = deal_counts_by_stage(session)
        rules = task_rules(session)
        stale_days = get_sales_settings(session).stale_days
    names = stage_names(words, stages)
    open_stages = [s for s in stages if s.outcome == "open"]
    done = request.query_params.get("done")
    context = {
        "stages": stages,
        "open_count": len(open_stages),
        "open_stages": open_stages,
        "names": names,
        "counts": counts,
        "rules": rules,
        "rule_kinds": RULE_KINDS,
        "stale_days": stale_days,
        "errors": errors or {},
        "typed": typed or {},
        "owner": user.role == "owner",
        "summary": rule_summary(words, names, request.app.state.settings.currency),
        "done": done if done in DONE and not errors else None,
    }
    return render(request, "deals/settings.html", context, user=user, status_code=status_code)


@router.get(PAGE)
def pipeline_settings(request: Request, user: CurrentUser) -> Response:
    return _page(request, user)


def _saved(done: str, anchor: str = "") -> Response:
    return RedirectResponse(f"{PAGE}?done={done}{anchor}", status_code=303)


def _failed(
    request: Request,
    user: WebUser,
    exc: SoloistError,
    prefix: str,
    typed: dict[str, str],
    field: str | None = None,
) -> Response:
    """The page again with the error next to the field (``prefix`` + the domain's field name,
    or ``field``)."""
    problem = problem_of(request, exc)
    name = field or f"{prefix}{problem['field'] or ''}".rstrip("_")
    errors = {name: {"sentence": problem["sentence"], "detail": problem["detail"]}}
    return _page(request, user, errors=errors, typed=typed, status_code=problem["http_status"])


def _percent(text: str, field: str) -> int:
    value = text.strip().rstrip("%").strip()
    if not value.isdigit() or int(value) > 100:
        raise ValidationError(
            N_("Give the probability as a whole percent from 0 to 100."), field=field
        )
    return int(value)


# --- stages ----------------------------------------------------------------------------------


@router.post(PAGE + "/stages", dependencies=[CsrfChecked])
def add_stage(
    request: Request,
    user: OwnerUser,
    name: Annotated[str, Form()] = "",
    probability: Annotated[str, Form()] = "",
) -> Response:
    """Add an open stage after the last open one."""
    typed = {"new_name": name, "new_probability": probability}
    try:
        if not name.strip():
            raise ValidationError(N_("Give the stage a name."), field="name")
        percent = _percent(probability, "probability")
        with request.app.state.database.session() as session:
            create_stage(session, name, percent, user.actor)
    except SoloistError as exc:
        return _failed(request, user, exc, "new_", typed)
    return _saved("stage_added", "#stages")


@router.post(PAGE + "/stages/{key}", dependencies=[CsrfChecked])
def save_stage(
    request: Request,
    key: str,
    user: OwnerUser,
    name: Annotated[str, Form()] = "",
    probability: Annotated[str, Form()] = "",
) -> Response:
    """Rename a stage and change its probability; an empty name gives a built-in stage its own
    (translated) name back."""
    prefix = f"stage_{key}_"
    typed = {f"{prefix}name": name, f"{prefix}probability": probability}
    changed = False
    try:
        with request.app.state.database.session() as session:
            stage = next((s for s in list_stages(session) if s.key == key), None)
            if stage is None:
                raise ValidationError(N_("There is no such stage; reload the page."), field="name")
            text = name.strip() or None
            if text != stage.name and (text is not None or stage.name is not None):
                if text is None and stage.key not in BUILT_IN_STAGE_NAMES:
                    raise ValidationError(N_("Give the stage a name."), field="name")
                rename_stage(session, key, text, user.actor)
                changed = True
            if stage.outcome == "open":
                percent = _percent(probability, "probability")
                if percent != stage.probability_percent:
                    set_stage_probability(session, key, percent, user.actor)
                    changed = True
    except SoloistError as exc:
        return _failed(request, user, exc, prefix, typed)
    return _saved("stage_saved" if changed else "unchanged", "#stages")


@router.post(PAGE + "/stages/{key}/move", dependencies=[CsrfChecked])
def move_stage_page(
    request: Request, key: str, user: OwnerUser, direction: Annotated[str, Form()] = ""
) -> Response:
    """Move an open stage one place up (left on the board) or down."""
    try:
        with request.app.state.database.session() as session:
            keys = [s.key for s in list_stages(session)]
            if key not in keys or direction not in ("up", "down"):
                raise ValidationError(N_("There is no such stage; reload the page."), field="move")
            position = keys.index(key) + (-1 if direction == "up" else 1)
            move_stage(session, key, position, user.actor)
    except SoloistError as exc:
        return _failed(request, user, exc, "", {}, field=f"stage_{key}")
    return _saved("stage_moved", "#stages")


@router.post(PAGE + "/stages/{key}/delete", dependencies=[CsrfChecked])
def delete_stage_page(request: Request, key: str, user: OwnerUser) -> Response:
    """Delete an open stage without deals (the page says how many a stage has)."""
    words = wording(request, user)
    try:
        with request.app.state.database.session() as session:
            delete_stage(session, key, user.actor)
    except ConflictError as exc:
        deals = exc.details.get("deals")
        if isinstance(deals, int):
            sentence = words.ngettext(
                "This stage still has %(num)s deal: move it to another stage first.",
                "This stage still has %(num)s deals: move them to another stage first.",
                deals,
            ) % {"num": words.fmt.number(deals)}
            errors = {f"stage_{key}": {"sentence": sentence, "detail": None}}
            return _page(request, user, errors=errors, status_code=409)
        return _failed(request, user, exc, "", {}, field=f"stage_{key}")
    except SoloistError as exc:
        return _failed(request, user, exc, "", {}, field=f"stage_{key}")
    return _saved("stage_deleted", "#stages")


# --- stale deals and task rules ----------------------------------------------------------------


@router.post(PAGE + "/stale", dependencies=[CsrfChecked])
def save_stale(
    request: Request, user: OwnerUser, stale_days: Annotated[str, Form()] = ""
) -> Response:
    typed = {"stale_days": stale_days}
    try:
        text = stale_days.strip()
        if not text.isdigit() or not 1 <= int(text) <= 3650:
            raise ValidationError(
                N_("Give a whole number of days from 1 to 3650."), field="stale_days"
            )
        with request.app.state.database.session() as session:
            update_sales_settings(session, {"stale_days": int(text)}, user.actor)
    except SoloistError as exc:
        return _failed(request, user, exc, "", typed, field="stale_days")
    return _saved("stale_saved", "#stale")


def _rule_fields(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The rule a form describes, checked where the form can say more than the domain."""
    if kind not in RULE_KINDS:
        raise ValidationError(N_("Choose what the rule reacts to."), field="kind")
    if not form["title"].strip():
        raise ValidationError(N_("Give the tasks a title."), field="title")
    due = form["due_days"].strip() or "1"
    if not due.isdigit() or int(due) > 365:
        raise ValidationError(N_("Give a whole number of days from 0 to 365."), field="due_days")
    rule: dict[str, Any] = {"kind": kind, "title": form["title"].strip(), "due_days": int(due)}
    if kind == "deal_stage":
        rule["stage"] = form["stage"]
    elif kind == "churn_risk":
        threshold = form["threshold"].strip().rstrip("%").strip()
        try:
            share = Decimal(threshold) / 100
        except InvalidOperation:
            share = Decimal(-1)
        if not 0 < share < 1:
            raise ValidationError(
                N_("Give the churn risk as a percent between 0 and 100."), field="threshold"
            )
        rule["threshold"] = float(share)
        try:
            floor = Decimal(form["min_clv"].strip().replace(",", "") or "0")
        except InvalidOperation:
            floor = Decimal(-1)
        if not floor.is_finite() or floor < 0:
            raise ValidationError(
                N_("Give the customer value as a number, like 500."), field="min_clv"
            )
        rule["min_clv"] = str(floor)
    return rule


@router.post(PAGE + "/rules", dependencies=[CsrfChecked])
def add_rule(
    request: Request,
    user: OwnerUser,
    kind: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    due_days: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "",
    threshold: Annotated[str, Form()] = "",
    min_clv: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "title": title,
        "due_days": due_days,
        "stage": stage,
        "threshold": threshold,
        "min_clv": min_clv,
    }
    prefix = f"rule_{kind if kind in RULE_KINDS else 'deal_stage'}_"
    typed = {prefix + name: value for name, value in form.items()}
    try:
        rule = _rule_fields(kind, form)
        with request.app.state.database.session() as session:
            add_task_rule(session, rule, user.actor)
    except SoloistError as exc:
        return _failed(request, user, exc, prefix, typed)
    return _saved("rule_added", "#rules")


@router.post(PAGE + "/rules/{rule_id}/delete", dependencies=[CsrfChecked])
def remove_rule(request: Request, rule_id: str, user: OwnerUser) -> Response:
    with request.app.state.database.session() as session:
        remove_task_rule(session, rule_id, user.actor)
    return _saved("rule_removed", "#rules")


def rule_summary(words: Any, names: dict[str, str], currency: str) -> Callable[[Any], str]:
    """What a rule reacts to, in words (the template's column)."""

    def summary(rule: Any) -> str:
        if rule.kind == "deal_stage":
            return str(words._("enters “%(stage)s”") % {"stage": names.get(rule.stage, rule.stage)})
        if rule.kind == "churn_risk":
            risk = words.fmt.percent(rule.threshold, 0)
            clv = words.fmt.money(rule.min_clv, currency)
            sentence = words._("churn risk reaches %(risk)s, 12-month CLV at least %(clv)s")
            return str(sentence % {"risk": risk, "clv": clv})
        return str(words._("any ticket past its SLA"))

    return summary
