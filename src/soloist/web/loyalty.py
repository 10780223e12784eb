"""Loyalty pages: the programme overview (KPIs, liability, measured effect) and a member's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.customers import get_customer
from soloist.domain.loyalty import (
    current_loyalty_report,
    get_programme_settings,
    ledger_history,
    list_referrals,
    list_rewards,
    list_tiers,
    loyalty_summary,
    offers_for_customer,
)
from soloist.money import minor_to_decimal
from soloist.web.labels import BEFORE_AFTER_ROWS, EFFECT_ROWS
from soloist.web.rendering import render
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)


@router.get("/loyalty")
def loyalty_page(request: Request, user: CurrentUser) -> Response:
    with request.app.state.database.read_session() as session:
        report, stale = current_loyalty_report(session)
        tiers = list_tiers(session)
        rewards = list_rewards(session)
        rules = get_programme_settings(session)
    return render(
        request,
        "loyalty/overview.html",
        {
            "report": report,
            "stale": stale,
            "k": report.kpis,
            "tiers": tiers,
            "rewards": rewards,
            "rules": rules,
            "liability": report.kpis.liability,
            "to_major": minor_to_decimal,
            "effect_rows": EFFECT_ROWS,
            "before_after_rows": BEFORE_AFTER_ROWS,
        },
        user=user,
    )


@router.get("/customers/{customer_id}/loyalty")
def customer_loyalty_page(request: Request, customer_id: int, user: CurrentUser) -> Response:
    with request.app.state.database.read_session() as session:
        customer = get_customer(session, customer_id)
        summary = loyalty_summary(session, customer_id)
        entries = ledger_history(session, customer_id, limit=100)
        rules = get_programme_settings(session)
        offers = list(offers_for_customer(session, customer_id))
        referrals = list_referrals(session, customer_id)
        name = customer.name or f"#{customer.id}"
    return render(
        request,
        "loyalty/customer.html",
        {
            "customer_id": customer_id,
            "name": name,
            "s": summary,
            "entries": entries,
            "offers": offers,
            "programme_currency": rules.currency,
            "referrals": referrals,
        },
        user=user,
    )
