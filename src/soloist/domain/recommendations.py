"""What to offer each customer next, from the shop's purchase history.

The model (:class:`soloist.analytics.ImplicitRecommender`) learns from the lines of paid orders
(refunded and cancelled orders and returned lines do not count as a liking) and is kept in
memory per workspace; it is fitted again when the order lines have grown by 1 % or a product
changed. What is shown is filtered at the time of asking, against the customer's live history:

- products already bought are left out, unless the workspace sells consumables
  (the ``repurchase`` setting);
- inactive products are never offered;
- customers with no purchases get the best sellers; products new to the catalogue (active, no
  sale yet) are offered to customers who buy in their category.

Each recommendation has a reason: the customer's product that points most strongly to it
(``because``), "popular with customers who buy like you" (the factor part of the model), the
best sellers, or "new in a category you buy".

Where reviews carry stars (30 or more ratings of products: a review of a product, or of an
order of one product), a :class:`soloist.analytics.RatingRecommender` predicts the stars the
customer would give each offer; offers they would likely rate below 3 are left out, and the
prediction is shown.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.caches import cached_or_started, stale_while_revalidate
from soloist.errors import NotFoundError, ValidationError
from soloist.storage.caches import VersionedCache
from soloist.storage.models import Customer, Order, OrderLine, Product, Review, WorkspaceSetting

SETTINGS_KEY = "recommendations"
DEFAULTS: dict[str, Any] = {"repurchase": False}
REASONS = ("because", "similar_customers", "popular", "new_in_category")
_COUNTED_STATUSES = ("paid",)  # a partial refund leaves an order paid
_NEW_PRODUCT_SCORE = 0.0

_models: VersionedCache[str, Any] = VersionedCache("recommenders", maxsize=4)
NOT_READY = object()  # a model asked for without waiting, still being fitted for the first time
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    sku: str
    name: str
    score: float
    reason: str  # one of REASONS
    because_product_id: int | None = None
    because_name: str | None = None
    category: str | None = None
    # the stars the customer would give it (RatingRecommender), when the shop has ratings
    predicted_rating: float | None = None

    def public(self) -> dict[str, Any]:
        """The fields the API and ``soloist recommend --json`` give (``reason`` in English)."""
        return {
            "product_id": self.product_id,
            "sku": self.sku,
            "name": self.name,
            "score": round(self.score, 4),
            "reason": self.reason_text,
            "reason_code": self.reason,
            "because_product_id": self.because_product_id,
            "predicted_rating": self.predicted_rating,
        }

    @property
    def reason_text(self) -> str:
        """The reason in English (the API's ``reason``; the web app words it per language)."""
        if self.reason == "because":
            return f"Because you bought {self.because_name}"
        if self.reason == "similar_customers":
            return "Bought by customers who buy like you"
        if self.reason == "new_in_category":
            return f"New in {self.category}, a category you buy"
        return "A best seller"


def recommendation_settings(session: Session) -> dict[str, Any]:
    stored = session.get(WorkspaceSetting, SETTINGS_KEY)
    return {**DEFAULTS, **(stored.value if stored else {})}


def update_recommendation_settings(
    session: Session, changes: dict[str, Any], actor: str
) -> dict[str, Any]:
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise ValidationError(
            f"Unknown recommendation setting {sorted(unknown)[0]!r}; "
            f"known: {', '.join(sorted(DEFAULTS))}.",
            field=sorted(unknown)[0],
        )
    for key, value in changes.items():
        if not isinstance(value, bool):
            raise ValidationError(f"{key} must be true or false, got {value!r}.", field=key)
    current = {**recommendation_settings(session), **changes}
    stored = session.get(WorkspaceSetting, SETTINGS_KEY)
    if stored is None:
        session.add(WorkspaceSetting(key=SETTINGS_KEY, value=current))
    else:
        stored.value = current
    record_audit(session, actor, "recommendations.settings", "workspace_setting", None, changes)
    return current


def _counted_lines() -> Any:
    return (
        select(Order.customer_id, OrderLine.product_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.status.in_(_COUNTED_STATUSES),
            OrderLine.product_id.is_not(None),
            OrderLine.quantity > 0,
        )
    )


def _version(session: Session) -> tuple[Any, ...]:
    """Changes when the order lines grew by 1 % (a new order does not make every page wait for
    a fit), the products change, or a customer is merged or erased (their purchases move or
    leave). Read on every customer page, so from indexes only: counting the lines through
    their orders took 3.9 s at 1.8 million lines."""
    row: Any = session.execute(
        select(
            select(func.max(OrderLine.id)).scalar_subquery(),
            select(func.count(Product.id)).scalar_subquery(),
            select(func.max(Product.updated_at)).scalar_subquery(),
            select(func.count(Customer.id)).where(Customer.no_longer_active()).scalar_subquery(),
        )
    ).one()
    newest_line, products, updated, inactive = row
    growth = int(math.log(newest_line) / math.log(1.01)) if newest_line else 0
    return (growth, products, updated, inactive, newest_line is None)


@dataclass(frozen=True)
class _Fit:
    model: Any  # an ImplicitRecommender, or None when nobody has bought anything yet


def _fit(session: Session) -> _Fit:
    from soloist.analytics import ImplicitRecommender

    lines = pd.DataFrame(session.execute(_counted_lines()).all(), columns=["customer", "item"])
    if lines.empty:
        return _Fit(None)
    return _Fit(ImplicitRecommender(random_state=0).fit(lines))


def recommender(session: Session, *, wait: bool = True) -> Any:
    """The workspace's fitted model (None when nobody has bought anything yet).

    Fitted on first use; when the orders have grown since, the previous model answers while a
    background thread fits the new one (stale-while-revalidate, as the dashboard), so no page
    waits for a refit. ``wait=False`` never waits, not even for the first fit (minutes at a
    hundred thousand customers): then :data:`NOT_READY` until it is done.
    """
    return _fitted_model(_models, session, _version(session), _fit, wait=wait)


def _fitted_model(
    cache: VersionedCache[str, Any],
    session: Session,
    version: Hashable,
    fit: Callable[[Session], _Fit],
    *,
    wait: bool,
) -> Any:
    """The workspace's model in ``cache`` at ``version``, fitted by ``fit``: stale while a
    newer one is fitted; without ``wait``, :data:`NOT_READY` until the first is."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    if wait:
        return stale_while_revalidate(cache, session, url, version, fit).model
    fitted = cached_or_started(cache, session, url, version, fit)
    return NOT_READY if fitted is None else fitted.model


def recommend_for_customer(session: Session, customer_id: int, k: int = 5) -> list[Recommendation]:
    """What to offer ``customer_id`` next, best first (the first call may wait for the fit)."""
    offered = _recommend(session, customer_id, k, wait=True)
    assert offered is not None  # a waiting call always has its model
    return offered


def recommendations_if_ready(
    session: Session, customer_id: int, k: int = 5
) -> list[Recommendation] | None:
    """:func:`recommend_for_customer` without waiting: None while the workspace's model is
    being fitted for the first time (which this call starts, when nothing else has)."""
    return _recommend(session, customer_id, k, wait=False)


def _recommend(
    session: Session, customer_id: int, k: int, *, wait: bool
) -> list[Recommendation] | None:
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"No customer with id {customer_id}.")
    if not 1 <= k <= 50:
        raise ValidationError(f"k must be between 1 and 50, got {k}.", field="k")
    repurchase = bool(recommendation_settings(session)["repurchase"])
    bought: set[int] = {
        int(product_id)
        for product_id in session.scalars(
            _counted_lines()
            .with_only_columns(OrderLine.product_id)
            .where(Order.customer_id == customer_id)
        )
        if product_id is not None
    }
    products = {p.id: p for p in session.scalars(select(Product).where(Product.active.is_(True)))}
    model = recommender(session, wait=wait)
    if model is NOT_READY:
        return None
    chosen: list[Recommendation] = []
    if model is not None:
        # Ask for more than k: some may be inactive now or (with repurchases) already bought.
        frame = model.recommend([customer_id], k=min(k * 4 + len(bought), 200),
                                exclude_seen=not repurchase)  # fmt: skip
        picks = [
            (int(item), float(score))
            for item, score in zip(frame["item"], frame["score"], strict=True)
            if int(item) in products and (repurchase or int(item) not in bought)
        ][:k]
        because = model.because(customer_id, [item for item, _ in picks]) if bought else {}
        for item, score in picks:
            product = products[item]
            source = because.get(item)
            if not bought:
                reason = "popular"
            elif source is not None and int(source) != item:
                reason = "because"
            else:
                reason = "similar_customers"
            origin = (
                session.get(Product, int(source))
                if reason == "because" and source is not None
                else None
            )
            chosen.append(
                Recommendation(
                    product.id, product.sku, product.name, score, reason,
                    origin.id if origin else None, origin.name if origin else None,
                    product.category,
                )
            )  # fmt: skip
    offered = chosen + _new_products(session, bought, products, {r.product_id for r in chosen})
    return _with_ratings(session, customer_id, offered, wait=wait)[:k]


MIN_RATINGS = 30
LOWEST_OFFERED_RATING = 3.0  # products the customer would likely rate below this are left out
_rating_models: VersionedCache[str, Any] = VersionedCache("rating models", maxsize=4)


def product_ratings(session: Session) -> pd.DataFrame:
    """``customer``, ``item``, ``rating``: reviews of a product, and reviews of an order that
    holds one product only (its rating is that product's)."""
    rows: list[tuple[Any, Any, Any]] = [
        (customer, product, rating)
        for customer, product, rating in session.execute(
            select(Review.customer_id, Review.product_id, Review.rating).where(
                Review.customer_id.is_not(None), Review.product_id.is_not(None)
            )
        )
    ]
    single = (
        select(OrderLine.order_id, func.min(OrderLine.product_id).label("product_id"))
        .where(OrderLine.product_id.is_not(None))
        .group_by(OrderLine.order_id)
        .having(func.count(func.distinct(OrderLine.product_id)) == 1)
        .subquery()
    )
    rows += [
        (customer, product, rating)
        for customer, product, rating in session.execute(
            select(Review.customer_id, single.c.product_id, Review.rating)
            .join(single, single.c.order_id == Review.order_id)
            .where(Review.customer_id.is_not(None), Review.product_id.is_(None))
        )
    ]
    return pd.DataFrame(rows, columns=["customer", "item", "rating"])


def _fit_ratings(session: Session) -> _Fit:
    from soloist.analytics import RatingRecommender

    ratings = product_ratings(session)
    if len(ratings) < MIN_RATINGS or ratings["item"].nunique() < 2:
        return _Fit(None)
    return _Fit(RatingRecommender(random_state=0).fit(ratings))


def rating_model(session: Session, *, wait: bool = True) -> Any:
    """The workspace's RatingRecommender, or None with fewer than MIN_RATINGS ratings; a new
    review is answered by the previous model while the next is fitted (a minute or more at
    tens of thousands of reviews). ``wait=False``: :data:`NOT_READY` until the first fit."""
    version = tuple(session.execute(select(func.count(Review.id), func.max(Review.id))).one())
    return _fitted_model(_rating_models, session, version, _fit_ratings, wait=wait)


def _with_ratings(
    session: Session, customer_id: int, offered: list[Recommendation], *, wait: bool = True
) -> list[Recommendation]:
    model = rating_model(session, wait=wait) if offered else None
    if model is None or model is NOT_READY:  # offered without predicted stars meanwhile
        return offered
    pairs = pd.DataFrame({"customer": customer_id, "item": [r.product_id for r in offered]})
    stars = model.predict(pairs)
    return [
        dataclasses.replace(r, predicted_rating=round(float(star), 2))
        for r, star in zip(offered, stars, strict=True)
        if star >= LOWEST_OFFERED_RATING
    ]


def _new_products(
    session: Session, bought: set[int], products: dict[int, Product], taken: set[int]
) -> list[Recommendation]:
    """Active products nobody has bought yet, in the categories the customer buys."""
    categories = {products[p].category for p in bought if p in products and products[p].category}
    if not categories:
        return []
    # Only the candidates are checked, each through the index on order_lines.product_id
    # (not a scan of every line on every customer page).
    unsold = set(
        session.scalars(
            select(Product.id).where(
                Product.id.in_([p.id for p in products.values() if p.category in categories]),
                ~exists().where(OrderLine.product_id == Product.id),
            )
        )
    )
    return [
        Recommendation(
            p.id, p.sku, p.name, _NEW_PRODUCT_SCORE, "new_in_category", category=p.category
        )
        for p in sorted(products.values(), key=lambda p: p.created_at, reverse=True)
        if p.id in unsold and p.id not in taken
    ]


def offers_for_customers(
    session: Session, customer_ids: Sequence[int], bought: Mapping[int, set[int]], k: int = 3
) -> dict[int, list[dict[str, str]]]:
    """The top ``k`` recommendations of many customers at once (a campaign batch), as
    ``name`` / ``sku`` dicts, best first: the model's, without inactive products and (unless
    ``repurchase``) what each already bought (``bought``: customer → product ids)."""
    model = recommender(session)
    if model is None or not customer_ids:
        return {}
    repurchase = bool(recommendation_settings(session)["repurchase"])
    products = {p.id: p for p in session.scalars(select(Product).where(Product.active.is_(True)))}
    frame = model.recommend(list(customer_ids), k=min(k * 4 + 10, 200), exclude_seen=not repurchase)
    offers: dict[int, list[dict[str, str]]] = {}
    for customer, item in zip(frame["customer"], frame["item"], strict=True):
        chosen = offers.setdefault(int(customer), [])
        product = products.get(int(item))
        if product is None or len(chosen) >= k:
            continue
        if not repurchase and product.id in bought.get(int(customer), set()):
            continue
        chosen.append({"name": product.name, "sku": product.sku})
    return offers
