"""The demo's sales pipeline: deals in every stage with their stage history, and the owner's
tasks.

The process:

- about one deal per thousand customers, between 25 and 120, for customers known for more than
  sixteen months, those tagged ``wholesale`` first (cafés, offices, hotels); Chinese customers'
  deals have Chinese names; the value is uniform over the name's range, in the workspace
  currency;
- where each deal stands: every stage gets two deals, the rest are shared out lead 20 %,
  qualified 14 %, proposal 14 %, negotiation 10 %, won 24 %, lost 18 %; a lost deal left from
  lead (30 %), qualified (30 %), proposal (25 %) or negotiation (15 %);
- days in a stage ~ Gamma(shape 2) with mean 6 (lead), 10 (qualified), 14 (proposal) and 9
  (negotiation): the history runs backwards from a close over the last year, or from the end for
  open deals; 15 % of the open deals (at least two) are stale, quiet for 35–80 days in their
  stage; the others saw some activity since they entered it;
- open deals are expected to close over the next six months, two of them already past due; a
  closed deal was expected within a fortnight of its close.

The owner's tasks (30): six overdue, five due later on the last day, eight upcoming (two with a
reminder still to come), ten done, one without a date; on deals, customers and tickets. A
``deal_stage`` rule (*Send the written proposal*, two days after a deal enters ``proposal``) was
added a month before the end, with the tasks it has made since. A task done on a deal counts as
activity on it, as :mod:`soloist.domain.sales.tasks` has it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.demo import vocabulary as vocab
from soloist.domain.audit import insert_rows
from soloist.domain.sales import add_task_rule, ensure_stages
from soloist.money import decimal_to_minor
from soloist.storage.models import CustomerTag, Deal, DealStageChange, Task, Ticket

ACTOR = "system:demo"
SHARES = {"lead": 0.2, "qualified": 0.14, "proposal": 0.14, "negotiation": 0.1}
CLOSED_SHARES = {"won": 0.24, "lost": 0.18}
MEAN_DAYS = {"lead": 6.0, "qualified": 10.0, "proposal": 14.0, "negotiation": 9.0}
LOST_FROM = {"lead": 0.3, "qualified": 0.3, "proposal": 0.25, "negotiation": 0.15}
RULE_DAYS = 30  # the deal_stage rule was added this long before the end
# (what is linked, state, how many) of the owner's own tasks
TASK_PLAN = (
    ("deal", "overdue", 3), ("customer", "overdue", 2), ("ticket", "overdue", 1),
    ("deal", "today", 2), ("customer", "today", 2), ("ticket", "today", 1),
    ("deal", "upcoming", 4), ("customer", "upcoming", 4),
    ("deal", "done", 4), ("customer", "done", 4), ("ticket", "done", 2),
    ("customer", "someday", 1),
)  # fmt: skip


@dataclass
class SalesDemo:
    deals: int
    open_deals: int
    won_deals: int
    lost_deals: int
    stage_changes: int
    tasks: int


def _pick(rng: np.random.Generator, options: list[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _finals(rng: np.random.Generator, count: int, keys: list[str]) -> list[str]:
    """Where each deal stands at the end: two in every stage, the rest by the shares."""
    shares = np.array([(SHARES | CLOSED_SHARES).get(key, 0.1) for key in keys])
    rest = rng.choice(len(keys), size=max(count - 2 * len(keys), 0), p=shares / shares.sum())
    finals = [key for key in keys for _ in range(2)] + [keys[int(k)] for k in rest]
    return [finals[int(k)] for k in rng.permutation(len(finals))][:count]


def _customers(
    session: Session, rng: np.random.Generator, count: int, customer_ids: list[int],
    first_seen: list[dt.datetime], now: dt.datetime,
) -> list[int]:  # fmt: skip
    """Indices of the deals' customers: wholesale ones first, all known for 15 months."""
    known = [i for i, seen in enumerate(first_seen) if seen < now - dt.timedelta(days=500)]
    pool = known or list(range(len(customer_ids)))
    tagged = set(
        session.scalars(select(CustomerTag.customer_id).where(CustomerTag.tag == "wholesale"))
    )
    wholesale = [i for i in pool if customer_ids[i] in tagged]
    others = [i for i in pool if customer_ids[i] not in tagged] or pool
    chosen = [int(i) for i in rng.permutation(wholesale)[: count * 2 // 3]]
    rest = rng.choice(others, size=count - len(chosen), replace=len(others) < count - len(chosen))
    return chosen + [int(i) for i in rest]


def build_sales_demo(
    session: Session,
    *,
    seed: int,
    customer_ids: list[int],
    chinese: np.ndarray,
    first_seen: list[dt.datetime],
    now: dt.datetime,
    currency: str,
    timezone: str,
    owner_id: int | None,
) -> SalesDemo:
    """Deals with their stage history, tasks and a task rule, as of ``now`` (the demo's end)."""
    rng = np.random.default_rng([seed, 0x5A1E5])
    stages = ensure_stages(session)
    open_keys = [s.key for s in stages if s.outcome == "open"]
    won = next(s.key for s in stages if s.outcome == "won")
    lost = next(s.key for s in stages if s.outcome == "lost")
    probability = {s.key: s.probability_percent for s in stages}
    count = int(np.clip(len(customer_ids) // 1000, 25, 120))
    finals = _finals(rng, count, [*open_keys, won, lost])
    owners = _customers(session, rng, count, customer_ids, first_seen, now)
    actor = f"user:{owner_id}" if owner_id is not None else ACTOR
    open_at = [k for k, final in enumerate(finals) if final in open_keys]
    stale = {
        int(k) for k in rng.choice(open_at, size=max(2, round(0.15 * len(open_at))), replace=False)
    }
    late = {
        int(k) for k in rng.choice([k for k in open_at if k not in stale], size=2, replace=False)
    }
    deals: list[dict[str, Any]] = []
    paths: list[list[tuple[str, dt.datetime]]] = []
    for k, (final, customer) in enumerate(zip(finals, owners, strict=True)):
        if final == lost:
            weights = np.array([LOST_FROM.get(key, 0.2) for key in open_keys])
            left = int(rng.choice(len(open_keys), p=weights / weights.sum()))
            path = [*open_keys[: left + 1], lost]
        elif final == won:
            path = [*open_keys, won]
        else:
            path = open_keys[: open_keys.index(final) + 1]
        days = [rng.gamma(2.0, MEAN_DAYS.get(key, 10.0) / 2) for key in path]
        if final in open_keys:
            stay = rng.uniform(35, 80) if k in stale else min(days[-1], 28.0)
            last = now - dt.timedelta(days=float(stay))
        else:
            last = now - dt.timedelta(days=float(rng.uniform(2, 365)))
        last = last.replace(microsecond=0)
        entered = [last]
        for length in reversed(days[:-1]):
            entered.insert(0, entered[0] - dt.timedelta(days=float(length)))
        entered = [moment.replace(microsecond=0) for moment in entered]
        paths.append(list(zip(path, entered, strict=True)))
        names = vocab.DEAL_NAMES_ZH if chinese[customer] else vocab.DEAL_NAMES_EN
        title, lo, hi = _pick(rng, names)
        value = Decimal(int(round(rng.uniform(lo, hi), -1)))
        closed = final in (won, lost)
        if closed:
            expected = last.date() + dt.timedelta(days=int(rng.integers(-14, 15)))
            reasons = {
                won: vocab.WON_REASONS_ZH if chinese[customer] else vocab.WON_REASONS,
                lost: vocab.LOST_REASONS_ZH if chinese[customer] else vocab.LOST_REASONS,
            }[final]
        else:
            ahead = -int(rng.integers(3, 26)) if k in late else int(rng.integers(7, 183))
            expected = now.date() + dt.timedelta(days=ahead)
        activity = last if closed or k in stale else last + (now - last) * float(rng.random())
        deals.append(
            {
                "customer_id": customer_ids[customer], "title": title, "stage": final,
                "value_minor": decimal_to_minor(value, currency), "currency": currency,
                "probability_percent": probability[final], "expected_close_on": expected,
                "owner_id": owner_id, "closed_at": last if closed else None,
                "close_reason": _pick(rng, reasons) if closed else None,
                "stage_entered_at": last, "last_activity_at": activity.replace(microsecond=0),
                "created_at": entered[0], "updated_at": activity.replace(microsecond=0),
            }
        )  # fmt: skip
    tasks = _owner_tasks(session, rng, deals, stale, now, timezone, owner_id)
    tasks += _rule_tasks(session, rng, deals, paths, stale, now, owner_id)
    deal_ids = _insert_deals(session, deals, paths, actor)
    for row in tasks:
        if row["deal_id"] is not None:
            row["deal_id"] = deal_ids[row["deal_id"]]
            if row["automation_key"] is not None:
                row["automation_key"] += str(row["deal_id"])
    insert_rows(session, Task, tasks, ACTOR, "demo tasks")
    return SalesDemo(
        deals=len(deals),
        open_deals=len(open_at),
        won_deals=finals.count(won),
        lost_deals=finals.count(lost),
        stage_changes=sum(len(path) for path in paths),
        tasks=len(tasks),
    )


def _insert_deals(
    session: Session,
    deals: list[dict[str, Any]],
    paths: list[list[tuple[str, dt.datetime]]],
    actor: str,
) -> list[int]:
    ids = insert_rows(session, Deal, deals, ACTOR, "demo deals", returning_ids=True)
    changes = [
        {"deal_id": deal_id, "from_stage": path[j - 1][0] if j else None, "to_stage": stage,
         "changed_at": at, "actor": actor}
        for deal_id, path in zip(ids, paths, strict=True)
        for j, (stage, at) in enumerate(path)
    ]  # fmt: skip
    insert_rows(session, DealStageChange, changes, ACTOR, "demo deal stage history")
    return ids


def _local(zone: ZoneInfo, day: dt.date, hours: float) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(int(hours), int(hours % 1 * 60)), tzinfo=zone)
    return moment.astimezone(dt.UTC)


def _owner_tasks(
    session: Session, rng: np.random.Generator, deals: list[dict[str, Any]], stale: set[int],
    now: dt.datetime, timezone: str, owner_id: int | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The owner's own tasks (:data:`TASK_PLAN`); ``deal_id`` holds the deal's index."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    tomorrow = _local(zone, today + dt.timedelta(days=1), 0)
    slots = [at for h in (10, 11.5, 14, 15.5, 17) if (at := _local(zone, today, h)) > now]
    slots += [now + (tomorrow - now) * f for f in (0.5, 0.6, 0.7, 0.8, 0.9)]
    open_deals = [k for k, deal in enumerate(deals) if deal["closed_at"] is None]
    # Tasks done or overdue belong to deals a few days old at least, and not stale ones if done.
    settled = [k for k in open_deals if (now - deals[k]["created_at"]).days >= 3] or open_deals
    active = [k for k in settled if k not in stale] or settled
    tickets = {
        state: list(
            session.execute(
                select(Ticket.id, Ticket.customer_id)
                .where(Ticket.status.in_(states), Ticket.merged_into_id.is_(None))
                .order_by(Ticket.opened_at.desc())
                .limit(10)
            )
        )
        for state, states in (
            ("open", ("new", "open", "pending")),
            ("done", ("resolved", "closed")),
        )
    }
    rows: list[dict[str, Any]] = []
    upcoming = 0
    for link, state, many in TASK_PLAN:
        for _ in range(many):
            deal = customer = ticket = None
            if link == "deal":
                pool = {"done": active, "overdue": settled}.get(state, open_deals)
                deal = int(_pick(rng, pool))
                customer = deals[deal]["customer_id"]
                title = _pick(rng, vocab.TASK_TITLES_DEAL)
            elif link == "ticket" and tickets["done" if state == "done" else "open"]:
                ticket, customer = _pick(rng, tickets["done" if state == "done" else "open"])
                title = _pick(rng, vocab.TASK_TITLES_TICKET)
            else:
                customer = deals[int(rng.integers(len(deals)))]["customer_id"]
                title = _pick(rng, vocab.TASK_TITLES_CUSTOMER)
            # A deal's task falls within the deal's life.
            age = (now - deals[deal]["created_at"]).days if deal is not None else 60
            due: dt.datetime | None
            remind = done = None
            if state == "overdue":
                back = int(rng.integers(1, max(2, min(9, age))))
                due = _local(zone, today - dt.timedelta(days=back), 10)
            elif state == "today":
                due = slots.pop(0)
            elif state == "upcoming":
                due = _local(zone, today + dt.timedelta(days=int(rng.integers(1, 21))), 14)
                upcoming += 1
                if upcoming <= 2:
                    remind = due - dt.timedelta(hours=2 if upcoming == 1 else 24)
                    remind = remind if remind > now else due - dt.timedelta(hours=2)
            elif state == "done":
                back = int(rng.integers(1, max(2, min(41, age))))
                due = _local(zone, today - dt.timedelta(days=back), 11)
                done = min(due + dt.timedelta(hours=float(rng.uniform(-20, 6))), now)
            else:
                due = None
            created = min(due or now, done or now) - dt.timedelta(days=float(rng.uniform(1, 10)))
            if deal is not None:
                created = max(created, deals[deal]["created_at"])
            if done is not None:
                done = min(max(done, created + dt.timedelta(hours=1)), now)
            if deal is not None:
                _touch(deals[deal], done)
            rows.append(
                {
                    "title": title, "notes": None, "customer_id": customer, "deal_id": deal,
                    "ticket_id": ticket, "assignee_id": owner_id, "due_at": due,
                    "done_at": done, "priority": _pick(rng, ["low", "normal", "normal", "high"]),
                    "remind_at": remind, "reminded_at": None, "automation_key": None,
                    "created_at": created.replace(microsecond=0),
                    "updated_at": (done or created).replace(microsecond=0),
                }
            )  # fmt: skip
    return rows


def _rule_tasks(
    session: Session, rng: np.random.Generator, deals: list[dict[str, Any]],
    paths: list[list[tuple[str, dt.datetime]]], stale: set[int], now: dt.datetime,
    owner_id: int | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The ``deal_stage`` rule and its tasks: one per deal that entered ``proposal`` since the
    rule was added, keyed as the worker keys them, so it finds these and makes none twice
    (``deal_id`` holds the deal's index, the key lacks the deal's id: both come on insert)."""
    if not any(stage == "proposal" for path in paths for stage, _ in path):
        return []
    added = now - dt.timedelta(days=RULE_DAYS)
    rule = add_task_rule(
        session,
        {"kind": "deal_stage", "stage": "proposal", "title": "Send the written proposal",
         "due_days": 2},
        ACTOR, now=added,
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    for k, path in enumerate(paths):
        entered = next((at for stage, at in path if stage == "proposal"), None)
        if entered is None or entered < added:
            continue
        seen = entered + dt.timedelta(seconds=float(rng.uniform(1, 60)))
        done: dt.datetime | None = seen + dt.timedelta(days=float(rng.uniform(0.2, 2.5)))
        if done is not None and (done >= now or k in stale):
            done = None
        rows.append(
            {
                "title": rule.title, "notes": None, "customer_id": deals[k]["customer_id"],
                "deal_id": k, "ticket_id": None, "assignee_id": owner_id,
                "due_at": entered + dt.timedelta(days=rule.due_days), "done_at": done,
                "priority": "normal", "remind_at": None, "reminded_at": None,
                "automation_key": f"deal-stage:{rule.id}:", "created_at": seen,
                "updated_at": done or seen,
            }
        )  # fmt: skip
        _touch(deals[k], done)
    return rows


def _touch(deal: dict[str, Any], done: dt.datetime | None) -> None:
    """A task done on a deal is activity on it."""
    if done is not None and deal["last_activity_at"] < done:
        deal["last_activity_at"] = deal["updated_at"] = done
