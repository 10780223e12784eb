"""The loyalty programme's rules, kept as one JSON value in ``workspace_settings``."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.models import ORDER_STATUSES, WorkspaceSetting

SETTINGS_KEY = "loyalty"
BONUS_KINDS = ("signup", "birthday", "review", "referrer", "referred", "manual")
_ROUNDING = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceil": ROUND_CEILING}


class ProgrammeSettings(BaseModel):
    """Every rule of the programme, with defaults a small shop can start from."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(
        default="USD", min_length=3, max_length=3, description="Orders in this currency earn."
    )
    points_per_unit: Decimal = Field(
        default=Decimal(1), ge=0, description="Points per currency unit spent."
    )
    rounding: Literal["floor", "half_up", "ceil"] = "floor"
    earning_statuses: list[str] = Field(default_factory=lambda: ["paid"])
    expiry_months: int | None = Field(
        default=12, ge=1, le=120, description="None: points never expire."
    )
    point_value: Decimal = Field(
        default=Decimal("0.01"), ge=0, description="Value of one point, for the liability."
    )
    holdout_share: float = Field(default=0.1, ge=0, le=0.9)
    enrol_new_customers: bool = Field(
        default=True,
        description="Enrol customers as they arrive through the API and webhooks (the holdout "
        "share still applies).",
    )
    holdout_seed: int = 2026
    tier_window_days: int = Field(default=365, ge=1)
    tier_review_days: int = Field(default=365, ge=1)
    reward_coupon_days: int = Field(default=90, ge=1)
    bonus_points: dict[str, int] = Field(
        default_factory=lambda: {
            "signup": 100,
            "birthday": 200,
            "review": 50,
            "referrer": 500,
            "referred": 250,
        }
    )
    launched_at: dt.datetime | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("earning_statuses")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ORDER_STATUSES))
        if unknown:
            raise ValueError(f"unknown order statuses {unknown}; use {', '.join(ORDER_STATUSES)}")
        if set(value) & {"refunded", "cancelled"}:
            raise ValueError("refunded and cancelled orders cannot earn points")
        return sorted(set(value))

    @field_validator("bonus_points")
    @classmethod
    def _bonuses(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, points in value.items():
            if kind not in BONUS_KINDS or points < 0:
                raise ValueError(f"bonus {kind!r}: kinds are {', '.join(BONUS_KINDS)}, points >= 0")
        return value

    def points_for(self, amount_minor: int, currency: str, multiplier_percent: int = 100) -> int:
        """Points earned by spending ``amount_minor`` at a tier multiplier, rounded as configured.

        >>> ProgrammeSettings().points_for(1999, "USD", 150)  # 19.99 × 1 × 1.5 = 29.985
        29
        """
        if currency.upper() != self.currency or amount_minor <= 0:
            return 0
        raw = (
            minor_to_decimal(amount_minor, self.currency)
            * self.points_per_unit
            * Decimal(multiplier_percent)
            / Decimal(100)
        )
        return int(raw.to_integral_value(rounding=_ROUNDING[self.rounding]))

    def expiry_for(self, credited_at: dt.datetime) -> dt.datetime | None:
        """When points credited at ``credited_at`` expire (calendar months later)."""
        if self.expiry_months is None:
            return None
        month = credited_at.month - 1 + self.expiry_months
        year, month = credited_at.year + month // 12, month % 12 + 1
        day = min(credited_at.day, _days_in_month(year, month))
        return credited_at.replace(year=year, month=month, day=day)

    def value_of(self, points: int) -> Decimal:
        return (Decimal(points) * self.point_value).quantize(Decimal("0.01"))


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def get_programme_settings(session: Session) -> ProgrammeSettings:
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    return ProgrammeSettings.model_validate(row.value if row is not None else {})


def update_programme_settings(
    session: Session, changes: dict[str, Any], actor: str
) -> ProgrammeSettings:
    """Change some rules; the whole new rule set is validated before anything is stored."""
    current = get_programme_settings(session)
    merged = current.model_dump(mode="json") | changes
    try:
        updated = ProgrammeSettings.model_validate(merged)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ValidationError(f"{field}: {first['msg']}", field=field) from exc
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    value = updated.model_dump(mode="json")
    if row is None:
        session.add(WorkspaceSetting(key=SETTINGS_KEY, value=value))
    else:
        row.value = value
    record_audit(
        session,
        actor,
        "loyalty.settings_changed",
        "workspace_setting",
        SETTINGS_KEY,
        {key: str(val) for key, val in changes.items()},
    )
    return updated
