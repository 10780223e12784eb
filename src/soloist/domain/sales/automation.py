"""Rules that create tasks, kept as one JSON list in ``workspace_settings`` (key ``tasks.rules``).

Three kinds:

- ``deal_stage`` {stage, title, due_days}: a task for each deal that enters ``stage`` after the
  rule was made, due ``due_days`` after it did, for the deal's owner. One per rule and deal
  (key ``deal-stage:<rule id>:<deal id>``), however often the deal comes back to the stage.
- ``churn_risk`` {threshold, min_clv, title, due_days}: a task for each customer whose churn
  risk *crossed* ``threshold`` in the latest analysis (at or above it now, below it or unscored
  in the analysis before) and whose 12-month CLV is at least ``min_clv`` (a decimal string in
  the workspace currency; above 0 it needs a CLV analysis). Only analyses that finish after the
  rule was made count, so a new rule does not flood the list with everyone at risk today. One
  per customer and analysis (key ``churn-risk:<customer id>:<model run id>``).
- ``sla_breach`` {title, due_days}: kept here, run by the service code when a ticket breaches its
  SLA (it reads the rule with :func:`task_rules` and calls
  :func:`~soloist.domain.sales.tasks.create_task` with its own key).

:func:`run_task_rules` runs the first two each minute in the worker. Two runs at once create each
task once: the keys are unique, and a savepoint catches the second insert.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.sales.stages import get_stage
from soloist.domain.sales.tasks import create_task_once
from soloist.domain.scoring.scores import current_runs, finished_runs
from soloist.errors import NotFoundError, ValidationError
from soloist.money import precision
from soloist.storage.database import Database
from soloist.storage.models import (
    Customer,
    CustomerScore,
    Deal,
    DealStageChange,
    ModelRun,
    Task,
    User,
    WorkspaceSetting,
)
from soloist.storage.retry import run_in_transaction
from soloist.storage.types import as_utc, utcnow

log = logging.getLogger("soloist.tasks")
SETTINGS_KEY = "tasks.rules"
RULE_KINDS = ("deal_stage", "churn_risk", "sla_breach")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default="", description="Given when the rule is added.")
    created_at: dt.datetime | None = Field(default=None, description="When it was added.")
    title: str = Field(min_length=1, max_length=255, description="The title of its tasks.")
    due_days: int = Field(default=1, ge=0, le=365, description="Its tasks are due this late.")


class DealStageRule(_Rule):
    kind: Literal["deal_stage"]
    stage: str = Field(min_length=1, max_length=32, description="The stage a deal enters.")


class ChurnRiskRule(_Rule):
    kind: Literal["churn_risk"]
    threshold: float = Field(gt=0, lt=1, description="The churn risk that counts (0–1).")
    min_clv: Decimal = Field(
        default=Decimal(0), ge=0, description="The 12-month CLV needed, workspace currency."
    )


class SlaBreachRule(_Rule):
    kind: Literal["sla_breach"]


TaskRule = Annotated[DealStageRule | ChurnRiskRule | SlaBreachRule, Field(discriminator="kind")]
_RULES: TypeAdapter[list[TaskRule]] = TypeAdapter(list[TaskRule])
_ONE: TypeAdapter[TaskRule] = TypeAdapter(TaskRule)


def task_rules(session: Session, kind: str | None = None) -> list[TaskRule]:
    """The rules, oldest first; only those of ``kind`` when given."""
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    rules = _RULES.validate_python(row.value if row is not None else [])
    return [rule for rule in rules if kind is None or rule.kind == kind]


def _validate(data: Mapping[str, Any]) -> TaskRule:
    try:
        return _ONE.validate_python(dict(data))
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        # The union's branch name (deal_stage) is not a field: leave it out of the path.
        parts = [str(p) for p in first["loc"] if str(p) not in RULE_KINDS]
        name = ".".join(parts) or "kind"
        raise ValidationError(f"{name}: {first['msg']}", field=name) from exc


def _store(session: Session, rules: list[TaskRule]) -> None:
    value = _RULES.dump_python(rules, mode="json")
    row = session.get(WorkspaceSetting, SETTINGS_KEY, with_for_update=True)
    if row is None:
        session.add(WorkspaceSetting(key=SETTINGS_KEY, value=value))
    else:
        row.value = value
    session.flush()


def _locked_rules(session: Session) -> list[TaskRule]:
    row = session.get(WorkspaceSetting, SETTINGS_KEY, with_for_update=True)
    return _RULES.validate_python(row.value if row is not None else [])


def add_task_rule(
    session: Session, rule: Mapping[str, Any], actor: str, *, now: dt.datetime | None = None
) -> TaskRule:
    """Add a rule ({kind, title, due_days, …}); it acts on what happens from now on."""
    data = {k: v for k, v in rule.items() if k not in ("id", "created_at")}
    checked = _validate(data | {"id": secrets.token_hex(4), "created_at": now or utcnow()})
    if isinstance(checked, DealStageRule):
        get_stage(session, checked.stage)
    rules = _locked_rules(session)
    _store(session, [*rules, checked])
    record_audit(
        session, actor, "task_rule.added", "workspace_setting", SETTINGS_KEY,
        {"id": checked.id, "kind": checked.kind},
    )  # fmt: skip
    return checked


def update_task_rule(
    session: Session, rule_id: str, changes: Mapping[str, Any], actor: str
) -> TaskRule:
    """Change a rule's fields (not its id, kind or creation time)."""
    rules = _locked_rules(session)
    index = _index(rules, rule_id)
    fixed = {"id", "kind", "created_at"} & set(changes)
    if fixed:
        name = sorted(fixed)[0]
        raise ValidationError(f"{name}: a rule's {name} cannot change.", field=name)
    checked = _validate(rules[index].model_dump(mode="json") | dict(changes))
    if isinstance(checked, DealStageRule):
        get_stage(session, checked.stage)
    rules[index] = checked
    _store(session, rules)
    record_audit(
        session, actor, "task_rule.changed", "workspace_setting", SETTINGS_KEY,
        {"id": rule_id, "fields": sorted(changes)},
    )  # fmt: skip
    return checked


def remove_task_rule(session: Session, rule_id: str, actor: str) -> None:
    """Remove a rule; the tasks it made stay."""
    rules = _locked_rules(session)
    index = _index(rules, rule_id)
    del rules[index]
    _store(session, rules)
    record_audit(
        session, actor, "task_rule.removed", "workspace_setting", SETTINGS_KEY, {"id": rule_id}
    )


def _index(rules: list[TaskRule], rule_id: str) -> int:
    for index, rule in enumerate(rules):
        if rule.id == rule_id:
            return index
    raise NotFoundError(f"No task rule {rule_id!r}.", rule_id=rule_id)


@dataclass
class RuleRunReport:
    created: dict[str, int] = field(default_factory=dict)  # rule id -> tasks made this pass
    failed: list[str] = field(default_factory=list)  # rule ids whose pass failed

    @property
    def total(self) -> int:
        return sum(self.created.values())


def run_task_rules(
    database: Database, actor: str = "task-rules", now: dt.datetime | None = None
) -> RuleRunReport:
    """Run the ``deal_stage`` and ``churn_risk`` rules once, each in its own transaction."""
    moment = now or utcnow()
    report = RuleRunReport()
    with database.read_session() as session:
        rules = task_rules(session)
    currency = database.settings.currency
    for rule in rules:
        if not isinstance(rule, DealStageRule | ChurnRiskRule):
            continue
        try:
            count = run_in_transaction(database, _pass_of(rule, actor, moment, currency))
        except Exception:  # one rule's fault does not stop the others
            log.exception("task rule %s: this pass failed; it is tried again next minute", rule.id)
            report.failed.append(rule.id)
            continue
        report.created[rule.id] = count
    return report


def _pass_of(
    rule: DealStageRule | ChurnRiskRule, actor: str, now: dt.datetime, currency: str
) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        if isinstance(rule, DealStageRule):
            return _run_deal_stage(session, rule, actor, now)
        return _run_churn_risk(session, rule, actor, now, currency)

    return run


def _existing_keys(session: Session, pattern: str) -> set[str]:
    return {
        str(key)
        for key in session.scalars(
            select(Task.automation_key).where(Task.automation_key.like(pattern))
        )
    }


def _run_deal_stage(session: Session, rule: DealStageRule, actor: str, now: dt.datetime) -> int:
    assert rule.created_at is not None
    prefix = f"deal-stage:{rule.id}:"
    done = _existing_keys(session, prefix + "%")
    entries = session.execute(
        select(DealStageChange.deal_id, func.min(DealStageChange.changed_at))
        .where(
            DealStageChange.to_stage == rule.stage,
            DealStageChange.changed_at >= rule.created_at,
        )
        .group_by(DealStageChange.deal_id)
        .order_by(DealStageChange.deal_id)
    ).all()
    created = 0
    for deal_id, entered_at in entries:
        key = f"{prefix}{deal_id}"
        deal = session.get(Deal, deal_id)
        if key in done or deal is None:
            continue
        owner = session.get(User, deal.owner_id) if deal.owner_id is not None else None
        _, new = create_task_once(
            session,
            rule.title,
            actor,
            deal_id=deal.id,
            customer_id=deal.customer_id,
            assignee_id=owner.id if owner is not None and owner.active else None,
            due_at=as_utc(entered_at) + dt.timedelta(days=rule.due_days),
            automation_key=key,
            now=now,
        )
        created += new
    return created


def _previous_risk_run(session: Session, run_id: int) -> int | None:
    """The newest finished run before ``run_id`` that scored churn risk."""
    for run in finished_runs(session):
        if run.id >= run_id:
            continue
        scored = session.scalar(
            select(
                exists().where(
                    CustomerScore.model_run_id == run.id, CustomerScore.churn_risk.is_not(None)
                )
            )
        )
        if scored:
            return run.id
    return None


def _run_churn_risk(
    session: Session, rule: ChurnRiskRule, actor: str, now: dt.datetime, currency: str
) -> int:
    assert rule.created_at is not None
    runs = current_runs(session)
    risk_run = runs.get("churn_risk")
    run = session.get(ModelRun, risk_run) if risk_run is not None else None
    if run is None or run.finished_at is None or as_utc(run.finished_at) < rule.created_at:
        return 0
    at_risk = set(
        session.scalars(
            select(CustomerScore.customer_id)
            .join(Customer, Customer.id == CustomerScore.customer_id)
            .where(
                CustomerScore.model_run_id == run.id,
                CustomerScore.churn_risk >= rule.threshold,
                Customer.status == "active",
            )
        )
    )
    previous = _previous_risk_run(session, run.id)
    if previous is not None and at_risk:
        at_risk -= set(
            session.scalars(
                select(CustomerScore.customer_id).where(
                    CustomerScore.model_run_id == previous,
                    CustomerScore.churn_risk >= rule.threshold,
                )
            )
        )
    if rule.min_clv > 0 and at_risk:
        clv_run = runs.get("clv_12m_minor")
        floor = int((rule.min_clv.scaleb(precision(currency))).to_integral_value(ROUND_CEILING))
        valuable: set[int] = set()
        if clv_run is not None:
            valuable = set(
                session.scalars(
                    select(CustomerScore.customer_id).where(
                        CustomerScore.model_run_id == clv_run,
                        CustomerScore.clv_12m_minor >= floor,
                    )
                )
            )
        at_risk &= valuable
    done = _existing_keys(session, f"churn-risk:%:{run.id}")
    created = 0
    for customer_id in sorted(at_risk):
        key = f"churn-risk:{customer_id}:{run.id}"
        if key in done:
            continue
        _, new = create_task_once(
            session,
            rule.title,
            actor,
            customer_id=customer_id,
            due_at=now + dt.timedelta(days=rule.due_days),
            automation_key=key,
            now=now,
        )
        created += new
    return created
