"""``soloist demo``: a believable one-person business, written through the domain layer.

Same seed and same end date give the same workspace, row for row.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from soloist.demo import vocabulary as vocab
from soloist.demo.campaigns import build_campaign_demo
from soloist.demo.conversations import write_feedback
from soloist.demo.journeys import build_automation_demo
from soloist.demo.loyalty import build_loyalty_demo
from soloist.demo.purchases import (
    PurchasePlan,
    choose_lines,
    days_to_datetimes,
    draw_purchases,
)
from soloist.demo.sales import build_sales_demo
from soloist.domain._progress import Progress, no_progress
from soloist.domain.audit import insert_rows
from soloist.domain.customers import CustomerCreate, add_customers_bulk
from soloist.domain.orders import ProductCreate, create_product
from soloist.domain.users import add_user
from soloist.errors import ConflictError, ValidationError
from soloist.money import decimal_to_minor, minor_to_decimal
from soloist.storage.models import (
    ConsentRecord,
    Customer,
    CustomerTag,
    Order,
    OrderLine,
    Subscription,
    User,
)
from soloist.storage.planner import catch_up_statistics, refresh_statistics

ACTOR = "system:demo"
HORIZON_DAYS = 730
CHUNK = 20_000


@dataclass
class DemoSummary:
    seed: int
    start: str
    end: str
    currency: str
    customers: int
    products: int
    orders: int
    order_lines: int
    revenue: str
    subscriptions: int
    cancelled_subscriptions: int
    survey_responses: int
    reviews: int
    tickets: int
    interactions: int
    owner_email: str
    owner_password: str | None
    loyalty_members: int = 0
    loyalty_holdout: int = 0
    campaigns: int = 0
    experiment_decision: str | None = None
    experiment_winner: str | None = None
    journeys: int = 0
    journey_messages: int = 0
    journey_holdout: int = 0
    ticket_messages: int = 0
    active_tickets: int = 0
    breached_tickets: int = 0
    canned_replies: int = 0
    deals: int = 0
    open_deals: int = 0
    won_deals: int = 0
    lost_deals: int = 0
    tasks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(count: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]


def _person(rng: np.random.Generator, index: int, country: str) -> dict[str, Any]:
    if country == "CN":
        surname = vocab.SURNAMES_ZH[rng.integers(len(vocab.SURNAMES_ZH))]
        given = vocab.GIVEN_NAMES_ZH[rng.integers(len(vocab.GIVEN_NAMES_ZH))]
        name, local = surname + given, f"{vocab.PINYIN[surname]}{index}"
        domain = ["qq.com", "163.com", "126.com"][rng.integers(3)]
        phone = f"+86 1{rng.integers(30, 90)}{rng.integers(10_000_000, 99_999_999)}"
        city, street_name = vocab.CITIES["CN"][rng.integers(6)], vocab.STREETS_ZH[rng.integers(6)]
        street = f"{city}{street_name}{rng.integers(1, 400)}号"
        return {
            "name": name,
            "email": f"{local}@{domain}",
            "phone": phone,
            "address": street,
            "language": "zh",
        }
    first = vocab.FIRST_NAMES_EN[rng.integers(len(vocab.FIRST_NAMES_EN))]
    last = vocab.LAST_NAMES_EN[rng.integers(len(vocab.LAST_NAMES_EN))]
    prefix = {"GB": "+44 7700 9", "US": "+1 503 555 ", "DE": "+49 151 2", "SG": "+65 8"}[country]
    digits = {"GB": 5, "US": 4, "DE": 7, "SG": 7}[country]
    phone = prefix + str(rng.integers(10 ** (digits - 1), 10**digits))
    cities = vocab.CITIES[country]
    city, street_name = cities[rng.integers(len(cities))], vocab.STREETS_EN[rng.integers(6)]
    street = f"{rng.integers(1, 200)} {street_name}, {city}"
    tld = "com" if country == "US" else country.lower()
    email = f"{first.lower()}.{last.lower()}{index}@example.{tld}"
    return {
        "name": f"{first} {last}",
        "email": email,
        "phone": phone,
        "address": street,
        "language": "en",
    }


def _make_customers(
    session: Session,
    rng: np.random.Generator,
    n: int,
    start: dt.datetime,
    acquired: np.ndarray,
    progress: Progress,
) -> tuple[list[int], np.ndarray]:
    """The customers, and which of them write in Chinese."""
    codes = [code for code, _ in vocab.COUNTRIES]
    weights = np.array([weight for _, weight in vocab.COUNTRIES])
    countries = rng.choice(len(codes), size=n, p=weights / weights.sum())
    channels = rng.integers(0, len(vocab.CHANNELS), n)
    has_birthday = rng.random(n) < 0.6
    birthdays = rng.integers(0, 365 * 50, n)
    ids: list[int] = []
    for lo, hi in _chunks(n):
        rows, seen = [], []
        for i in range(lo, hi):
            country = codes[countries[i]]
            person = _person(rng, i + 1, country)
            tags = ["newsletter"] if rng.random() < 0.5 else []
            if vocab.CHANNELS[channels[i]] == "market stall":
                tags.append("market")
            if rng.random() < 0.02:
                tags.append("wholesale")
            rows.append(
                CustomerCreate(
                    **person,
                    external_id=f"demo-{i + 1:06d}",
                    country=country,
                    source=vocab.CHANNELS[channels[i]],
                    birthday=dt.date(1960, 1, 1) + dt.timedelta(days=int(birthdays[i]))
                    if has_birthday[i]
                    else None,
                    tags=tags,
                    custom_fields={
                        "favourite_brew": ["espresso", "filter", "aeropress", "tea"][i % 4]
                    },
                )
            )
            seen.append(start + dt.timedelta(days=float(acquired[i])))
        ids.extend(add_customers_bulk(session, rows, ACTOR, "demo customers", first_seen=seen))
        progress("customers", hi, n)
    consent = rng.random(n) < 0.7
    consent_rows = [
        {
            "customer_id": cid,
            "channel": "email",
            "granted": True,
            "source": "checkout",
            "recorded_at": start + dt.timedelta(days=float(acquired[i])),
        }
        for i, cid in enumerate(ids)
        if consent[i]
    ]
    insert_rows(session, ConsentRecord, consent_rows, ACTOR, "demo consent at checkout")
    return ids, countries == codes.index("CN")


def _make_orders(
    session: Session,
    rng: np.random.Generator,
    plan: PurchasePlan,
    customer_ids: list[int],
    start: dt.datetime,
    products: list[tuple[int, str, int, int, str]],
    currency: str,
    progress: Progress,
) -> tuple[np.ndarray, int, int]:
    """Orders and lines of ``plan``; returns (order ids, number of lines, paid revenue)."""
    n = len(customer_ids)
    categories = vocab.CATEGORIES
    product_category = np.array([categories.index(p[1]) for p in products])
    by_category = [np.flatnonzero(product_category == c) for c in range(len(categories))]
    base = np.array([12.0, 3.0, 2.0, 1.0, 5.0, 1.0])[: len(categories)]
    preferences = rng.dirichlet(base / base.sum() * 4.0, n)
    basket = rng.gamma(1.2, 0.6, n)
    line_order, product, quantity = choose_lines(
        rng, plan.customer, preferences, basket, by_category
    )
    prices = np.array([p[2] for p in products], dtype=np.int64)
    costs = np.array([p[3] for p in products], dtype=np.int64)
    amounts = prices[product] * quantity
    totals = np.bincount(line_order, weights=amounts, minlength=plan.day.size).astype(np.int64)
    line_costs = np.bincount(line_order, weights=costs[product] * quantity, minlength=plan.day.size)
    status_draw = rng.random(plan.day.size)
    statuses = np.where(
        status_draw < 0.03, "refunded", np.where(status_draw < 0.045, "cancelled", "paid")
    )
    times = days_to_datetimes(rng, start, plan.day)
    channels = rng.choice(
        ["web", "web", "web", "instagram", "wechat", "market stall"], plan.day.size
    )
    order_ids = np.zeros(plan.day.size, dtype=np.int64)
    total_orders = plan.day.size
    for lo, hi in _chunks(total_orders):
        rows = [
            {
                "external_id": f"LL-{i + 1:07d}",
                "customer_id": customer_ids[plan.customer[i]],
                "status": str(statuses[i]),
                "currency": currency,
                "total_minor": int(totals[i]),
                "discount_minor": 0,
                "cost_minor": int(line_costs[i]),
                "ordered_at": times[i],
                "channel": str(channels[i]),
                "source": "demo",
                "created_at": times[i],
            }
            for i in range(lo, hi)
        ]
        order_ids[lo:hi] = insert_rows(
            session, Order, rows, ACTOR, "demo orders", returning_ids=True
        )
        progress("orders", hi, total_orders)
    line_numbers = np.arange(line_order.size) - np.searchsorted(line_order, line_order)
    for lo, hi in _chunks(line_order.size):
        rows = [
            {
                "order_id": int(order_ids[line_order[j]]),
                "line_no": int(line_numbers[j]) + 1,
                "product_id": products[product[j]][0],
                "sku": products[product[j]][4],
                "description": None,
                "quantity": int(quantity[j]),
                "unit_price_minor": int(prices[product[j]]),
                "amount_minor": int(amounts[j]),
                "cost_minor": int(costs[product[j]]),
            }
            for j in range(lo, hi)
        ]
        insert_rows(session, OrderLine, rows, ACTOR, "demo order lines")
        progress("order lines", hi, line_order.size)
    revenue = int(totals[statuses == "paid"].sum())
    spend = np.bincount(plan.customer, weights=np.where(statuses == "paid", totals, 0), minlength=n)
    vip = np.flatnonzero(spend >= np.quantile(spend, 0.95))
    insert_rows(
        session,
        CustomerTag,
        [{"customer_id": customer_ids[i], "tag": "vip"} for i in vip],
        ACTOR,
        "demo vip tags",
    )
    return order_ids, int(line_order.size), revenue


def _make_subscriptions(
    session: Session,
    rng: np.random.Generator,
    customer_ids: list[int],
    start: dt.datetime,
    acquired: np.ndarray,
    currency: str,
) -> tuple[int, int]:
    n = len(customer_ids)
    subscribers = np.flatnonzero(rng.random(n) < 0.12)
    rows: list[dict[str, Any]] = []
    cancelled = 0
    for i in subscribers:
        begin = float(acquired[i]) + float(rng.exponential(30))
        if begin >= HORIZON_DAYS - 1:
            continue
        plan, price = vocab.SUBSCRIPTION_PLANS[int(rng.choice(3, p=[0.6, 0.15, 0.25]))]
        monthly_churn = rng.beta(1.3, 7.0)  # shifted-beta-geometric heterogeneity
        months = int(rng.geometric(monthly_churn))
        end_day = begin + 30.4 * months
        is_cancelled = end_day < HORIZON_DAYS
        cancelled += int(is_cancelled)
        rows.append(
            {
                "customer_id": customer_ids[i],
                "plan": plan,
                "billing_interval": "month",
                "status": "cancelled" if is_cancelled else "active",
                "price_minor": decimal_to_minor(Decimal(price), currency),
                "currency": currency,
                "started_at": start + dt.timedelta(days=begin),
                "cancelled_at": start + dt.timedelta(days=end_day) if is_cancelled else None,
                "cancel_reason": vocab.CANCEL_REASONS[rng.integers(len(vocab.CANCEL_REASONS))]
                if is_cancelled
                else None,
                "external_id": f"sub-{i + 1:06d}",
                "created_at": start + dt.timedelta(days=begin),
                "updated_at": start + dt.timedelta(days=begin),
            }
        )
    insert_rows(session, Subscription, rows, ACTOR, "demo subscriptions")
    return len(rows), cancelled


def build_demo(
    session: Session,
    *,
    customers: int = 2000,
    seed: int = 42,
    end_date: dt.date | None = None,
    currency: str = "USD",
    owner_email: str = "owner@example.com",
    owner_password: str | None = None,
    progress: Progress | None = None,
    purchase_rate_scale: float = 1.0,
    timezone: str = "UTC",
) -> DemoSummary:
    """Fill an empty workspace with two years of a small coffee business's customers."""
    report = progress or no_progress
    if customers < 10:
        raise ValidationError("A demo needs at least 10 customers.", field="customers")
    if (session.scalar(select(func.count(Customer.id))) or 0) > 0:
        raise ConflictError(
            "This workspace has customers already; build the demo in a new workspace."
        )
    rng = np.random.default_rng(seed)
    end = end_date or dt.datetime.now(dt.UTC).date()
    start = dt.datetime.combine(end - dt.timedelta(days=HORIZON_DAYS), dt.time(), dt.UTC)
    products = []
    for sku, name, category, price, cost in vocab.PRODUCTS:
        made = create_product(
            session,
            ProductCreate(
                sku=sku,
                name=name,
                category=category,
                price=Decimal(price),
                cost=Decimal(cost),
                currency=currency,
            ),
            ACTOR,
        )
        products.append((made.id, category, made.price_minor, made.cost_minor or 0, sku))
    plan = draw_purchases(rng, customers, HORIZON_DAYS, purchase_rate_scale)
    customer_ids, chinese = _make_customers(
        session, rng, customers, start, plan.acquired_day, report
    )
    # As if the shop had used Soloist all along: each customer was entered when first seen.
    session.execute(
        update(Customer)
        .values(created_at=Customer.first_seen_at)
        .execution_options(synchronize_session=False)
    )
    order_ids, n_lines, revenue = _make_orders(
        session, rng, plan, customer_ids, start, products, currency, report
    )
    subs, cancelled = _make_subscriptions(
        session, rng, customer_ids, start, plan.acquired_day, currency
    )
    catch_up_statistics(session)  # the stages below query what was just written
    password = owner_password
    if session.scalar(select(User.id).where(User.email == owner_email)) is None:
        password = password or secrets.token_urlsafe(12)
        add_user(session, owner_email, "owner", password, ACTOR, name="Demo owner")
    owner_id = session.scalar(select(User.id).where(User.email == owner_email))
    counts = write_feedback(
        session,
        rng,
        customer_ids,
        chinese,
        plan.customer,
        plan.day,
        order_ids,
        start,
        HORIZON_DAYS,
        report,
        timezone=timezone,
        owner_id=owner_id,
    )
    loyalty = build_loyalty_demo(
        session, seed=seed, start=start, horizon_days=HORIZON_DAYS, currency=currency
    )
    finish = dt.datetime.combine(end, dt.time(), dt.UTC)
    campaigns = build_campaign_demo(session, rng, start, finish)
    automations = build_automation_demo(
        session, start=start, end=finish, seed=seed, currency=currency, progress=report
    )
    sales = build_sales_demo(
        session,
        seed=seed,
        customer_ids=customer_ids,
        chinese=chinese,
        first_seen=[start + dt.timedelta(days=float(day)) for day in plan.acquired_day],
        now=finish,
        currency=currency,
        timezone=timezone,
        owner_id=owner_id,
    )
    refresh_statistics(session)
    return DemoSummary(
        seed=seed,
        start=start.date().isoformat(),
        end=end.isoformat(),
        currency=currency,
        customers=len(customer_ids),
        products=len(products),
        orders=int(order_ids.size) + loyalty.extra_orders,
        order_lines=n_lines + loyalty.extra_order_lines,
        revenue=str(minor_to_decimal(revenue + loyalty.extra_revenue_minor, currency)),
        subscriptions=subs,
        cancelled_subscriptions=cancelled,
        survey_responses=counts["survey_responses"],
        reviews=counts["reviews"],
        tickets=counts["tickets"],
        interactions=counts["interactions"],
        owner_email=owner_email,
        owner_password=password,
        loyalty_members=loyalty.members,
        loyalty_holdout=loyalty.holdout,
        campaigns=campaigns + int(automations.experiment_decision is not None),
        experiment_decision=automations.experiment_decision,
        experiment_winner=automations.experiment_winner,
        journeys=automations.journeys,
        journey_messages=automations.journey_messages,
        journey_holdout=automations.journey_holdout,
        ticket_messages=counts["ticket_messages"],
        active_tickets=counts["active_tickets"],
        breached_tickets=counts["breached_tickets"],
        canned_replies=counts["canned_replies"],
        deals=sales.deals,
        open_deals=sales.open_deals,
        won_deals=sales.won_deals,
        lost_deals=sales.lost_deals,
        tasks=sales.tasks + counts["breach_tasks"],
    )
