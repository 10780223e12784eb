"""A/B and A/B/n tests of a campaign, decided by a rule fixed before the first message.

The owner chooses the metric (a human click, or a conversion: an order within the attribution
window), the effect worth finding (``minimum_lift``, absolute: 5 % → 6 % is 0.01) and how sure
to be (``alpha``, ``power``). The set-up shows how many customers each variant needs
(:func:`soloist.analytics.sample_size_per_arm`) beside how many the segment holds.

Customers are drawn into the variants by a seeded hash (:mod:`.pacing`); with ``test_share`` below
1 only that share is in the test and the rest waits for the winner. The worker looks at the
results ``looks`` times, evenly over ``decision_hours`` after the send started. Each look is a
step of a group-sequential test with Lan–DeMets alpha spending (O'Brien–Fleming), so looking
ten times keeps the overall false-positive rate at ``alpha`` where checking p < 0.05 ten times
would make it about 18 %. With several variants each is compared with A at ``alpha / (k − 1)``
(Bonferroni).

Information. The messages all leave at once and the clicks arrive over days, so what grows
between looks is not the number of recipients but the events. For the running share
``p(t)`` of recipients with an event by time ``t``, the covariance of the running differences
gives ``corr(Z_s, Z_t) = sqrt(odds(p_s) / odds(p_t))``: the test statistic is a Brownian motion
in the odds of the pooled rate. So a look's information is ``odds(p̂) / (1/n_A + 1/n_B)``, and
the plan's full information uses the rate the owner expects (baseline + lift / 2).

A winner is declared only when a boundary is crossed; at the last look with no crossing the
verdict is "no difference found" and the control (A) goes to the rest. The Bayesian answer
(probability to beat A, expected loss) is shown beside the frequentist one, never used to
stop.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.campaigns.authoring import get_campaign, require_editable, variants_of
from soloist.domain.campaigns.pacing import (
    SendPolicy,
    assign_arm,
    best_send_times,
    customer_zones,
    recent_message_counts,
)
from soloist.domain.campaigns.planning import campaign_guide, check_design, get_experiment
from soloist.domain.campaigns.results import attributed_orders
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Campaign, CampaignExperiment, Message
from soloist.storage.types import as_utc, utcnow

SPENDING = "obrien_fleming"


def set_experiment(
    session: Session,
    campaign_id: int,
    actor: str,
    *,
    metric: str = "click",
    baseline_rate: float,
    minimum_lift: float,
    test_share: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    looks: int = 5,
    decision_hours: int = 72,
) -> CampaignExperiment:
    """Fix a campaign's test before it is sent (a draft or scheduled campaign only)."""
    campaign = get_campaign(session, campaign_id)
    require_editable(campaign)
    check_design(
        metric, baseline_rate, minimum_lift, test_share, alpha, power, looks, decision_hours
    )
    experiment = get_experiment(session, campaign_id)
    if experiment is None:
        experiment = CampaignExperiment(campaign_id=campaign_id)
        session.add(experiment)
    experiment.metric, experiment.baseline_rate = metric, baseline_rate
    experiment.minimum_lift, experiment.test_share = minimum_lift, test_share
    experiment.alpha, experiment.power, experiment.looks = alpha, power, looks
    experiment.decision_hours, experiment.status = decision_hours, "planned"
    experiment.variants = max(2, len(variants_of(session, campaign_id)))
    session.flush()
    record_audit(
        session,
        actor,
        "campaign.experiment_set",
        "campaign",
        campaign_id,
        {
            "metric": metric,
            "baseline_rate": baseline_rate,
            "minimum_lift": minimum_lift,
            "test_share": test_share,
            "alpha": alpha,
            "power": power,
            "looks": looks,
            "decision_hours": decision_hours,
        },
    )
    return experiment


def remove_experiment(session: Session, campaign_id: int, actor: str) -> None:
    campaign = get_campaign(session, campaign_id)
    require_editable(campaign)
    experiment = get_experiment(session, campaign_id)
    if experiment is not None:
        session.delete(experiment)
        record_audit(session, actor, "campaign.experiment_removed", "campaign", campaign_id, {})


def arm_counts(
    session: Session, campaign: Campaign, metric: str, currency: str
) -> dict[str, tuple[int, int]]:
    """Variant → (recipients with the event, recipients sent)."""
    rows = session.execute(
        select(Message.customer_id, Message.variant, Message.clicked_at).where(
            Message.campaign_id == campaign.id,
            Message.status == "sent",
            Message.variant.is_not(None),
        )
    ).all()
    buyers: set[int] = set()
    if metric == "conversion":
        window = dt.timedelta(days=campaign.attribution_days)
        buyers = {c for c, _, _ in attributed_orders(session, campaign.id, currency, window)}
    experiment = get_experiment(session, campaign.id)
    remainder: set[int] = set()
    if (
        experiment is not None
        and experiment.test_share < 1
        and campaign.assignment_seed is not None
    ):
        # The remainder got the winner after the test: not part of the test's figures. Its
        # members are those the seeded draw put outside the test.
        variants = variants_of(session, campaign.id)
        seed, share = campaign.assignment_seed, campaign.holdout_share
        remainder = {
            c for c, _, _ in rows
            if assign_arm(seed, c, share, variants, experiment.test_share)[0] == "waiting"
        }  # fmt: skip
    counts: dict[str, list[int]] = {}
    for customer_id, variant, clicked_at in rows:
        if customer_id in remainder:
            continue
        arm = counts.setdefault(str(variant), [0, 0])
        arm[1] += 1
        hit = clicked_at is not None if metric == "click" else customer_id in buyers
        arm[0] += int(hit)
    return {variant: (hits, sent) for variant, (hits, sent) in sorted(counts.items())}


def look_times(campaign: Campaign, experiment: CampaignExperiment) -> list[dt.datetime]:
    """When the rule looks: evenly over the decision window after the send started."""
    if campaign.started_at is None:
        return []
    start = as_utc(campaign.started_at)
    step = dt.timedelta(hours=experiment.decision_hours) / experiment.looks
    return [start + step * k for k in range(1, experiment.looks + 1)]


def _load_state(experiment: CampaignExperiment) -> dict[str, Any]:
    return json.loads(experiment.state) if experiment.state else {"tests": {}, "looks": []}


def _information(hits: int, sent: int, hits_a: int, sent_a: int) -> tuple[float, float]:
    """(pooled z, information on the odds scale) of a variant against A."""
    pooled = (hits + hits_a) / (sent + sent_a)
    if pooled <= 0 or pooled >= 1:
        return 0.0, 0.0
    spread = 1 / sent + 1 / sent_a
    z = (hits / sent - hits_a / sent_a) / math.sqrt(pooled * (1 - pooled) * spread)
    return z, pooled / (1 - pooled) / spread


def take_look(
    session: Session,
    campaign_id: int,
    currency: str,
    now: dt.datetime,
    actor: str,
    policy: SendPolicy | None = None,
) -> dict[str, Any] | None:
    """The rule's next look, if its time has come: record it, and decide when a boundary is
    crossed or this is the last look. Returns the look, or None when none was due."""
    from soloist.analytics import SequentialTest

    experiment = get_experiment(session, campaign_id)
    campaign = get_campaign(session, campaign_id)
    if experiment is None or experiment.status == "decided" or campaign.started_at is None:
        return None
    if campaign.status == "cancelled":
        return None
    state = _load_state(experiment)
    taken = state["looks"][-1]["look"] if state["looks"] else 0
    due = [k for k, at in enumerate(look_times(campaign, experiment), start=1) if at <= now]
    if not due or due[-1] <= taken:
        return None
    number = due[-1]  # looks missed while no worker ran are skipped, not taken late
    final = number == experiment.looks
    counts = arm_counts(session, campaign, experiment.metric, currency)
    hits_a, sent_a = counts.get("A", (0, 0))
    others = [v for v in counts if v != "A"]
    level = experiment.alpha / max(1, experiment.variants - 1)
    expected = experiment.baseline_rate + experiment.minimum_lift / 2
    look: dict[str, Any] = {
        "look": number,
        "at": now.isoformat(),
        "final": final,
        "counts": {v: list(c) for v, c in counts.items()},
        "tests": {},
    }
    crossed: dict[str, float] = {}
    worse: set[str] = set()  # variants whose test has stopped with A ahead
    spent: set[str] = set()  # variants with no alpha left and no crossing: nothing more to learn
    for variant in others:
        hits, sent = counts[variant]
        if sent_a == 0 or sent == 0:
            continue
        z, information = _information(hits, sent, hits_a, sent_a)
        saved = state["tests"].get(variant)
        if saved and saved.get("looks") and saved["looks"][-1].get("crossed"):
            worse.add(variant)  # it crossed below A at an earlier look: out of the running
            continue
        if saved:
            test = SequentialTest.from_dict(saved)
        else:
            # The full information is the plan's (the rate expected at the end). Clicks come
            # early, so it is often reached at the first look, which then spends all of alpha:
            # a fixed test at that size, as planned.
            planned = expected / (1 - expected) / (1 / sent + 1 / sent_a)
            test = SequentialTest(alpha=level, spending=SPENDING, max_information=planned)
        last = test.looks[-1].information if test.looks else 0.0
        if information <= last * (1 + 1e-9):
            if final and test.looks:  # nothing new: the rest of alpha on the same data
                information = last
            else:  # nothing to test now
                look["tests"][variant] = {
                    "z": round(z, 4),
                    "boundary": None,
                    "crossed": False,
                    "no_new_information": True,
                }
                continue
        result = test.look(information, z, final=final)
        state["tests"][variant] = test.to_dict()
        look["tests"][variant] = {
            "z": round(z, 4),
            "boundary": round(result.boundary, 4) if math.isfinite(result.boundary) else None,
            "crossed": bool(result.crossed),
        }
        if result.crossed and z > 0:
            crossed[variant] = z
        elif result.crossed:
            worse.add(variant)
        elif result.alpha_spent >= level * (1 - 1e-9):
            spent.add(variant)
    state["looks"].append(look)
    experiment.state = json.dumps(state)
    experiment.status = "running"
    if crossed:  # the best of the variants significantly ahead of A
        rates = {v: h / s for v, (h, s) in counts.items() if s}
        winner = max(crossed, key=lambda v: rates[v])
        _decide(session, campaign, experiment, winner, "winner", now, actor, policy)
    elif others and worse >= set(others):  # A significantly ahead of every variant
        _decide(session, campaign, experiment, "A", "winner", now, actor, policy)
    elif final or (others and worse | spent >= set(others)):
        # The last look, or the planned information reached with nothing crossed: later looks
        # could not change the verdict.
        _decide(session, campaign, experiment, "A", "no_difference", now, actor, policy)
    return look


def _decide(
    session: Session,
    campaign: Campaign,
    experiment: CampaignExperiment,
    winner: str,
    decision: str,
    now: dt.datetime,
    actor: str,
    policy: SendPolicy | None = None,
) -> None:
    experiment.status, experiment.winner, experiment.decision = "decided", winner, decision
    experiment.decided_at = now
    released = release_remainder(session, campaign, winner, now, policy)
    record_audit(
        session,
        actor,
        "campaign.experiment_decided",
        "campaign",
        campaign.id,
        {"winner": winner, "decision": decision, "remainder": released},
    )


def release_remainder(
    session: Session,
    campaign: Campaign,
    variant: str,
    now: dt.datetime,
    policy: SendPolicy | None = None,
) -> int:
    """Queue the test's remainder with ``variant`` (it goes out with the campaign's sender),
    under the rules a first send keeps: the frequency cap is checked again (days may have
    passed), and quiet hours and an optimised send hour hold a message for its time."""
    if campaign.status == "cancelled":
        return 0
    policy = policy or SendPolicy()
    rows = session.execute(
        select(Message.id, Message.customer_id).where(
            Message.campaign_id == campaign.id, Message.status == "waiting"
        )
    ).all()
    if not rows:
        return 0
    ids = [int(customer) for _, customer in rows]
    recent = recent_message_counts(session, ids, now) if policy.frequency_cap else {}
    zones = customer_zones(session, ids)
    times: dict[int, dt.datetime] = {}
    if campaign.send_time == "optimised":
        times = best_send_times(session, ids, now, campaign.send_window_hours,
                                campaign.assignment_seed or 0, policy.timezone)  # fmt: skip
    changes = []
    for row_id, customer in rows:
        if policy.frequency_cap and recent.get(customer, 0) >= policy.frequency_cap:
            changes.append({"id": row_id, "status": "suppressed", "error": "frequency_cap"})
            continue
        at = policy.when(times.get(customer, now), zones.get(customer))
        changes.append({"id": row_id, "status": "queued", "variant": variant,
                        "next_attempt_at": None if at <= now else at})  # fmt: skip
    session.execute(update(Message), changes)
    released = sum(1 for change in changes if change["status"] == "queued")
    if released and campaign.status == "sent":
        campaign.status, campaign.sent_at = "sending", None
    return released


def send_winner(
    session: Session,
    campaign_id: int,
    variant: str,
    actor: str,
    now: dt.datetime,
    policy: SendPolicy | None = None,
) -> CampaignExperiment:
    """The owner's choice, before or against the rule: send ``variant`` to the remainder (the
    results still show what the rule said)."""
    campaign = get_campaign(session, campaign_id)
    experiment = get_experiment(session, campaign_id)
    if experiment is None:
        raise NotFoundError(f"Campaign {campaign_id} has no A/B test.", campaign_id=campaign_id)
    if variant not in variants_of(session, campaign_id):
        raise ValidationError(
            f"Campaign {campaign_id} has no variant {variant!r}.", field="variant"
        )
    if campaign.started_at is None:
        raise ConflictError("The test has not been sent yet.", campaign_id=campaign_id)
    if experiment.status == "decided":
        raise ConflictError(
            f"The test was decided already ({experiment.decision}, {experiment.winner}).",
            campaign_id=campaign_id,
        )
    _decide(session, campaign, experiment, variant, "manual", now, actor, policy)
    return experiment


def review_experiments(database: Database, actor: str, now: dt.datetime | None = None) -> int:
    """What the worker does: take each running test's due look. Returns the looks taken."""
    now = now or utcnow()
    taken = 0
    with database.read_session() as session:
        ids = list(
            session.scalars(
                select(CampaignExperiment.campaign_id)
                .join(Campaign, Campaign.id == CampaignExperiment.campaign_id)
                .where(CampaignExperiment.status != "decided", Campaign.started_at.is_not(None))
            )
        )
    for campaign_id in ids:
        with database.session() as session:
            policy = SendPolicy.from_settings(database.settings)
            if take_look(session, campaign_id, database.settings.currency, now, actor, policy):
                taken += 1
    return taken


def experiment_results(
    session: Session, campaign_id: int, currency: str, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The test's design, each variant's figures, both answers (frequentist and Bayesian)
    against A, the looks taken and the verdict."""
    from soloist.analytics import compare_proportions, compare_variants

    campaign = get_campaign(session, campaign_id)
    experiment = get_experiment(session, campaign_id)
    if experiment is None:
        return None
    now = now or utcnow()
    variants = variants_of(session, campaign_id)
    counts = arm_counts(session, campaign, experiment.metric, currency)
    level = experiment.alpha / max(1, len(variants) - 1)
    hits_a, sent_a = counts.get("A", (0, 0))
    arms: list[dict[str, Any]] = []
    probability_best: dict[str, float] = {}
    filled = [v for v in variants if counts.get(v, (0, 0))[1] > 0]
    if len(filled) >= 2:
        summary = compare_variants(
            [counts[v][0] for v in filled],
            [counts[v][1] for v in filled],
            confidence=1 - level,
        )
        probability_best = dict(zip(filled, summary.probability_best, strict=True))
    for variant in variants:
        hits, sent = counts.get(variant, (0, 0))
        arm: dict[str, Any] = {
            "variant": variant,
            "sent": sent,
            "successes": hits,
            "rate": round(hits / sent, 4) if sent else None,
            "probability_best": round(float(probability_best[variant]), 4)
            if variant in probability_best
            else None,
        }
        if variant != "A" and sent and sent_a:
            comparison = compare_proportions(hits_a, sent_a, hits, sent, confidence=1 - level)
            arm["against_a"] = {key: _rounded(value) for key, value in comparison.to_dict().items()}
        arms.append(arm)
    state = _load_state(experiment)
    guide = campaign_guide(session, campaign, currency) if campaign.started_at is None else None
    times = look_times(campaign, experiment)
    upcoming = [at for at in times if at > now]
    return {
        "campaign_id": campaign_id,
        "metric": experiment.metric,
        "baseline_rate": experiment.baseline_rate,
        "minimum_lift": experiment.minimum_lift,
        "alpha": experiment.alpha,
        "alpha_per_comparison": level,
        "power": experiment.power,
        "looks": experiment.looks,
        "decision_hours": experiment.decision_hours,
        "test_share": experiment.test_share,
        "needed_per_variant": _needed(experiment, level),
        "status": experiment.status,
        "winner": experiment.winner,
        "decision": experiment.decision,
        "decided_at": experiment.decided_at.isoformat() if experiment.decided_at else None,
        "next_look_at": upcoming[0].isoformat()
        if upcoming and experiment.status != "decided"
        else None,
        "looks_taken": state["looks"],
        "waiting": _waiting(session, campaign_id),
        "variants": arms,
        "guide": guide,
    }


def _needed(experiment: CampaignExperiment, level: float) -> int:
    from soloist.analytics import sample_size_per_arm

    return int(
        sample_size_per_arm(
            experiment.baseline_rate,
            experiment.minimum_lift,
            power=experiment.power,
            alpha=level,
            looks=experiment.looks,
        )
    )


def _waiting(session: Session, campaign_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Message.campaign_id == campaign_id, Message.status == "waiting"
            )
        )
        or 0
    )


def _rounded(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) and math.isfinite(value) else value
