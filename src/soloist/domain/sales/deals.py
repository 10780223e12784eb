"""Deals: what a customer may buy, moving through the pipeline's stages until won or lost.

- A new deal starts in the first open stage at that stage's probability.
- Moving a deal records a :class:`~soloist.storage.models.DealStageChange` (conversion and time
  per stage are computed from them), sets ``stage_entered_at`` and ``last_activity_at``, and
  sets the probability to the new stage's: a probability the owner set by hand holds until the
  deal moves again (as in EspoCRM, whose probability follows its stage map on each change).
- The ``won`` and ``lost`` stages close a deal: ``closed_at`` is set, with the owner's reason;
  its probability is 100 or 0 and cannot be changed while it is closed. Moving it back to an open
  stage reopens it (``closed_at`` and the reason are cleared).
- A deal is *stale* while it is open and nothing happened to it for ``stale_days`` (workspace
  setting ``sales``, default 30, Krayin's ``rotten_days``): a change of the deal, a move, a task
  on it done, or :func:`record_deal_activity` count as activity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.sales.stages import (
    ensure_stages,
    first_stage,
    get_stage,
    list_stages,
    stage_for_outcome,
)
from soloist.errors import NotFoundError, ValidationError
from soloist.money import check_currency, decimal_to_minor, minor_to_decimal
from soloist.storage.models import (
    Customer,
    Deal,
    DealStageChange,
    Task,
    User,
    WorkspaceSetting,
)
from soloist.storage.types import utcnow

SETTINGS_KEY = "sales"
NAME_WIDTH, REASON_WIDTH = 255, 255
MAX_VALUE = Decimal("1e13")
DEAL_FIELDS = (
    "name",
    "customer_id",
    "value",
    "currency",
    "expected_close_on",
    "probability",
    "owner_id",
    "close_reason",
    "stage",
)


class SalesSettings(BaseModel):
    """The pipeline's workspace settings (``workspace_settings`` key ``sales``)."""

    model_config = ConfigDict(extra="forbid")

    stale_days: int = Field(
        default=30, ge=1, le=3650, description="An open deal is stale after this many quiet days."
    )


def get_sales_settings(session: Session) -> SalesSettings:
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    return SalesSettings.model_validate(row.value if row is not None else {})


def update_sales_settings(
    session: Session, changes: Mapping[str, Any], actor: str
) -> SalesSettings:
    """Change the pipeline's settings; the whole new set is validated before it is stored."""
    merged = get_sales_settings(session).model_dump(mode="json") | dict(changes)
    try:
        updated = SalesSettings.model_validate(merged)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ValidationError(f"{field}: {first['msg']}", field=field) from exc
    value = updated.model_dump(mode="json")
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    if row is None:
        session.add(WorkspaceSetting(key=SETTINGS_KEY, value=value))
    else:
        row.value = value
    record_audit(
        session, actor, "sales.settings_changed", "workspace_setting", SETTINGS_KEY,
        {key: str(val) for key, val in changes.items()},
    )  # fmt: skip
    return updated


# --- small helpers ---------------------------------------------------------------------------


def weighted_minor(value_minor: int, percent: int) -> int:
    """``value × probability / 100`` in the same minor units, rounded half to even.

    >>> weighted_minor(12345, 25)  # 123.45 × 25 % = 30.8625
    3086
    """
    exact = Decimal(value_minor) * Decimal(percent) / Decimal(100)
    return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))


def deal_value(deal: Deal) -> Decimal:
    """The deal's value as a Decimal in its own currency."""
    return minor_to_decimal(deal.value_minor, deal.currency)


def stale_cutoff(session: Session, now: dt.datetime | None = None) -> dt.datetime:
    """An open deal whose last activity is before this moment is stale."""
    return (now or utcnow()) - dt.timedelta(days=get_sales_settings(session).stale_days)


def is_stale(deal: Deal, cutoff: dt.datetime) -> bool:
    """Whether ``deal`` is open and quiet since before ``cutoff`` (:func:`stale_cutoff`)."""
    last = deal.last_activity_at or deal.created_at
    return deal.closed_at is None and last is not None and last < cutoff


def _money(value: Decimal | int | str, currency: str) -> int:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"value: not a number: {value!r}.", field="value") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_VALUE:
        raise ValidationError(
            f"value: a number from 0 up to {MAX_VALUE:,.0f}, got {value}.", field="value"
        )
    try:
        return decimal_to_minor(amount, currency)
    except ValueError as exc:
        raise ValidationError(f"value: {exc}.", field="value") from None


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except ValueError as exc:
        raise ValidationError(f"currency: {exc}.", field="currency") from None


def _name(name: str) -> str:
    text = (name or "").strip()
    if not text:
        raise ValidationError("name: a deal needs a name.", field="name")
    if len(text) > NAME_WIDTH:
        raise ValidationError(f"name: at most {NAME_WIDTH} characters.", field="name")
    return text


def _probability(percent: Any) -> int:
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValidationError(
            f"probability: a whole percent from 0 to 100, got {percent!r}.", field="probability"
        )
    return int(percent)


def _check_customer(session: Session, customer_id: int | None) -> None:
    if customer_id is not None and session.get(Customer, customer_id) is None:
        raise NotFoundError(f"No customer with id {customer_id}.", field="customer_id")


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    user = session.get(User, owner_id)
    if user is None or not user.active:
        raise NotFoundError(f"No active user with id {owner_id}.", field="owner_id")


def _reason(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) > REASON_WIDTH:
        raise ValidationError(f"reason: at most {REASON_WIDTH} characters.", field="reason")
    return text or None


# --- use cases -------------------------------------------------------------------------------


def get_deal(session: Session, deal_id: int, *, lock: bool = False) -> Deal:
    deal = session.get(Deal, deal_id, with_for_update=lock or None)
    if deal is None:
        raise NotFoundError(f"No deal with id {deal_id}.", deal_id=deal_id)
    return deal


def create_deal(
    session: Session,
    actor: str,
    *,
    name: str,
    customer_id: int | None,
    value: Decimal | int | str,
    currency: str,
    expected_close_on: dt.date | None = None,
    owner_id: int | None = None,
    probability: int | None = None,
    now: dt.datetime | None = None,
) -> Deal:
    """A new deal in the first stage, at that stage's probability unless ``probability`` is
    given; ``value`` in ``currency`` (ISO 4217), stored in its minor units."""
    moment = now or utcnow()
    code = _currency(currency)
    value_minor = _money(value, code)
    _check_customer(session, customer_id)
    _check_owner(session, owner_id)
    stage = first_stage(session)
    deal = Deal(
        customer_id=customer_id,
        title=_name(name),
        stage=stage.key,
        value_minor=value_minor,
        currency=code,
        probability_percent=(
            stage.probability_percent if probability is None else _probability(probability)
        ),
        expected_close_on=expected_close_on,
        owner_id=owner_id,
        stage_entered_at=moment,
        last_activity_at=moment,
        created_at=moment,
        updated_at=moment,
    )
    session.add(deal)
    session.flush()
    session.add(
        DealStageChange(
            deal_id=deal.id, from_stage=None, to_stage=stage.key, changed_at=moment, actor=actor
        )
    )
    session.flush()
    record_audit(
        session, actor, "deal.created", "deal", deal.id,
        {"stage": stage.key, "value": str(minor_to_decimal(value_minor, code)), "currency": code},
    )  # fmt: skip
    return deal


def move_deal(
    session: Session,
    deal_id: int,
    stage: str,
    actor: str,
    *,
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> Deal:
    """Move a deal to ``stage``; to the won or lost stage it closes with ``reason`` (optional,
    in the owner's words; refused for an open stage). Moving to the stage it is in changes
    nothing but a closed deal's reason."""
    moment = at or utcnow()
    ensure_stages(session)
    target = get_stage(session, stage)
    deal = get_deal(session, deal_id, lock=True)
    text = _reason(reason)
    if target.outcome == "open" and text is not None:
        raise ValidationError(
            "reason: a reason is given when a deal is won or lost.", field="reason"
        )
    if deal.stage == target.key:
        if text is not None:
            deal.close_reason = text
            deal.last_activity_at = moment
            session.flush()
        return deal
    previous = deal.stage
    deal.stage = target.key
    deal.probability_percent = target.probability_percent
    deal.stage_entered_at = moment
    deal.last_activity_at = moment
    deal.updated_at = moment
    if target.outcome == "open":
        deal.closed_at, deal.close_reason = None, None
    else:
        deal.closed_at, deal.close_reason = moment, text
    session.add(
        DealStageChange(
            deal_id=deal.id, from_stage=previous, to_stage=target.key, changed_at=moment,
            actor=actor,
        )
    )  # fmt: skip
    session.flush()
    record_audit(
        session, actor, "deal.moved", "deal", deal.id,
        {"from": previous, "to": target.key} | ({"reason": text} if text else {}),
    )  # fmt: skip
    return deal


def close_deal(
    session: Session,
    deal_id: int,
    outcome: str,
    actor: str,
    *,
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> Deal:
    """Win or lose a deal (``outcome`` ``won`` or ``lost``), with the owner's reason."""
    if outcome not in ("won", "lost"):
        raise ValidationError(f"outcome: won or lost, got {outcome!r}.", field="outcome")
    stage = stage_for_outcome(session, outcome)
    return move_deal(session, deal_id, stage.key, actor, reason=reason, at=at)


def update_deal(
    session: Session,
    deal_id: int,
    changes: Mapping[str, Any],
    actor: str,
    *,
    now: dt.datetime | None = None,
) -> Deal:
    """Change some of a deal's fields (keys of ``DEAL_FIELDS``; None clears the optional ones).

    ``stage`` moves it (with ``close_reason`` as the reason when it closes); ``value`` is read in
    the deal's (new) currency; a new ``currency`` alone keeps the amount, if the new currency can
    hold it. A change counts as activity.
    """
    unknown = sorted(set(changes) - set(DEAL_FIELDS))
    if unknown:
        raise ValidationError(
            f"{unknown[0]}: not a deal field; use {', '.join(DEAL_FIELDS)}.", field=unknown[0]
        )
    moment = now or utcnow()
    deal = get_deal(session, deal_id, lock=True)
    if changes.get("stage") is not None:
        try:
            deal = move_deal(
                session, deal_id, changes["stage"], actor, reason=changes.get("close_reason"),
                at=moment,
            )  # fmt: skip
        except ValidationError as exc:
            if exc.details.get("field") != "reason":
                raise
            raise ValidationError(
                "close_reason: a reason is given when a deal is won or lost.", field="close_reason"
            ) from None
    elif "stage" in changes:
        raise ValidationError("stage: a deal is always in a stage.", field="stage")
    done: dict[str, str] = {}
    if "name" in changes:
        deal.title = _name(changes["name"])
        done["name"] = deal.title
    if "currency" in changes or "value" in changes:
        code = _currency(changes["currency"]) if changes.get("currency") else deal.currency
        if "value" in changes and changes["value"] is not None:
            amount: Decimal | int | str = changes["value"]
        else:
            amount = minor_to_decimal(deal.value_minor, deal.currency)
        deal.value_minor, deal.currency = _money(amount, code), code
        done["value"] = f"{minor_to_decimal(deal.value_minor, code)} {code}"
    if "expected_close_on" in changes:
        deal.expected_close_on = changes["expected_close_on"]
        done["expected_close_on"] = str(deal.expected_close_on)
    if "customer_id" in changes:
        _check_customer(session, changes["customer_id"])
        deal.customer_id = changes["customer_id"]
        done["customer_id"] = str(deal.customer_id)
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
        deal.owner_id = changes["owner_id"]
        done["owner_id"] = str(deal.owner_id)
    if changes.get("probability") is not None:
        if deal.closed_at is not None:
            raise ValidationError(
                "probability: a won or lost deal keeps 100 or 0 %; move it to an open stage first.",
                field="probability",
            )
        deal.probability_percent = _probability(changes["probability"])
        done["probability"] = str(deal.probability_percent)
    if "close_reason" in changes and changes.get("stage") is None:
        if deal.closed_at is None and changes["close_reason"] is not None:
            raise ValidationError(
                "close_reason: only a won or lost deal has a reason.", field="close_reason"
            )
        deal.close_reason = _reason(changes["close_reason"])
        done["close_reason"] = str(deal.close_reason)
    deal.last_activity_at = moment
    deal.updated_at = moment
    session.flush()
    if done:
        record_audit(session, actor, "deal.updated", "deal", deal.id, done)
    return deal


def record_deal_activity(
    session: Session, deal_id: int, actor: str, at: dt.datetime | None = None
) -> Deal:
    """Something happened on the deal (a call, a meeting, a message): it is not stale."""
    deal = get_deal(session, deal_id)
    moment = at or utcnow()
    if deal.last_activity_at is None or deal.last_activity_at < moment:
        deal.last_activity_at = moment
    session.flush()
    record_audit(session, actor, "deal.activity", "deal", deal.id, {})
    return deal


def deal_titles(session: Session, ids: set[int]) -> dict[int, str]:
    """The names of the deals ``ids``, in one query."""
    if not ids:
        return {}
    rows = session.execute(select(Deal.id, Deal.title).where(Deal.id.in_(ids)))
    return {int(key): str(title) for key, title in rows}


def deal_history(session: Session, deal_id: int) -> list[DealStageChange]:
    """The deal's moves, oldest first."""
    return list(
        session.scalars(
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal_id)
            .order_by(DealStageChange.changed_at, DealStageChange.id)
        )
    )


def closed_deals_since(session: Session, since: dt.datetime) -> list[Deal]:
    """Deals won or lost since ``since``, newest first."""
    return list(
        session.scalars(
            select(Deal)
            .where(Deal.closed_at.is_not(None), Deal.closed_at >= since)
            .order_by(Deal.closed_at.desc(), Deal.id.desc())
        )
    )


def deal_counts_by_stage(session: Session) -> dict[str, int]:
    """How many deals each stage holds."""
    rows = session.execute(select(Deal.stage, func.count(Deal.id)).group_by(Deal.stage))
    return {str(key): int(n) for key, n in rows}


def delete_deal(session: Session, deal_id: int, actor: str) -> None:
    """Delete a deal and its stage history; its tasks stay, no longer linked to it."""
    deal = get_deal(session, deal_id, lock=True)
    session.execute(update(Task).where(Task.deal_id == deal_id).values(deal_id=None))
    session.execute(delete(DealStageChange).where(DealStageChange.deal_id == deal_id))
    session.delete(deal)
    session.flush()
    record_audit(session, actor, "deal.deleted", "deal", deal_id, {"name": deal.title})


def list_deals(
    session: Session,
    *,
    stage: str | None = None,
    customer_id: int | None = None,
    owner_id: int | None = None,
    outcome: str | None = None,
    stale: bool | None = None,
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Deal], int]:
    """Deals, newest first, and how many match: in one ``stage``, of one customer or owner,
    by ``outcome`` (open, won, lost), stale or not (as of ``now``)."""
    conditions: list[Any] = []
    if stage is not None:
        conditions.append(Deal.stage == get_stage(session, stage).key)
    if customer_id is not None:
        conditions.append(Deal.customer_id == customer_id)
    if owner_id is not None:
        conditions.append(Deal.owner_id == owner_id)
    if outcome == "open":
        conditions.append(Deal.closed_at.is_(None))
    elif outcome in ("won", "lost"):
        keys = [s.key for s in list_stages(session) if s.outcome == outcome]
        conditions.append(Deal.stage.in_(keys))
    elif outcome is not None:
        raise ValidationError(f"outcome: open, won or lost, got {outcome!r}.", field="outcome")
    if stale is not None:
        cutoff = stale_cutoff(session, now)
        quiet = func.coalesce(Deal.last_activity_at, Deal.created_at) < cutoff
        conditions.append(
            (Deal.closed_at.is_(None) & quiet) if stale else (Deal.closed_at.is_not(None) | ~quiet)
        )
    total = session.scalar(select(func.count(Deal.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(Deal).where(*conditions).order_by(Deal.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)
