"""A campaign's A/B test and holdout on its pages: the test's settings as the editor's form holds
them (rates typed as percentages, stored as fractions), the sample-size guide that follows the
typing, the "send this variant to the rest" action, and the results panels: each variant against
A with its interval drawn, the rule's looks and verdict, and what the holdout measured.

The figures come from :mod:`soloist.domain.campaigns` (``sample_size_guide``,
``experiment_results``, ``holdout_effect``); this module turns the form into their arguments and
their answers into what the templates draw (positions on an interval plot, times as datetimes).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from soloist.domain.campaigns import (
    LANGUAGES,
    contents_of,
    count_segment_audience,
    experiment_results,
    get_experiment,
    holdout_effect,
    remove_content,
    remove_experiment,
    sample_size_guide,
    set_content,
    set_experiment,
    update_campaign,
    variants_of,
    written_body,
)
from soloist.errors import SoloistError, ValidationError
from soloist.web.labels import N_
from soloist.web.rendering import render, wording
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)

VARIANTS = ("A", "B", "C", "D")
METRICS = ("click", "conversion")
SEND_TIMES = ("now", "optimised")
MAX_LOOKS = 20


@dataclass
class Versions:
    """The text of the variants after A (B, C, D) as the form holds it, by language."""

    subjects: dict[str, dict[str, str]] = field(default_factory=dict)
    bodies: dict[str, dict[str, str]] = field(default_factory=dict)

    def subject(self, variant: str, language: str) -> str:
        return self.subjects.get(variant, {}).get(language, "")

    def body(self, variant: str, language: str) -> str:
        return self.bodies.get(variant, {}).get(language, "")

    def filled(self, variant: str) -> list[str]:
        """The languages of ``variant`` with a subject or a body."""
        return [
            lang
            for lang in LANGUAGES
            if self.subject(variant, lang).strip() or self.body(variant, lang).strip()
        ]

    def written(self) -> list[str]:
        """The variants after A with some text."""
        return [v for v in VARIANTS[1:] if self.filled(v)]


def saved_versions(session: Any, campaign_id: int) -> Versions:
    versions = Versions()
    for variant in variants_of(session, campaign_id):
        if variant == "A":
            continue
        contents = contents_of(session, campaign_id, variant)
        versions.subjects[variant] = {lang: c.subject for lang, c in contents.items()}
        versions.bodies[variant] = {lang: written_body(c) for lang, c in contents.items()}
    return versions


def submitted_versions(form: Any, suffix: dict[str, str]) -> Versions:
    """Variants B… of a posted editor form (fields ``subject_B_en``, ``body_B_zh`` …)."""
    versions = Versions()
    for variant in VARIANTS[1:]:
        for lang in LANGUAGES:
            subject = form.get(f"subject_{variant}_{suffix[lang]}")
            body = form.get(f"body_{variant}_{suffix[lang]}")
            if isinstance(subject, str):
                versions.subjects.setdefault(variant, {})[lang] = subject
            if isinstance(body, str):
                versions.bodies.setdefault(variant, {})[lang] = body
    return versions


@dataclass
class TestDraft:
    """The A/B test's fields as the form holds them (percentages as typed)."""

    on: bool = False
    metric: str = "click"
    baseline_pct: str = "5"
    lift_pct: str = "1"
    test_share_pct: str = "100"
    looks: str = "5"
    decision_hours: str = "72"
    alpha: float = 0.05
    power: float = 0.8


def saved_test(session: Any, campaign_id: int) -> TestDraft:
    """The campaign's test as the form shows it (the defaults, switched off, without one)."""
    experiment = get_experiment(session, campaign_id)
    if experiment is None:
        return TestDraft()
    return TestDraft(
        on=True,
        metric=experiment.metric,
        baseline_pct=_percent_text(experiment.baseline_rate),
        lift_pct=_percent_text(experiment.minimum_lift),
        test_share_pct=_percent_text(experiment.test_share),
        looks=str(experiment.looks),
        decision_hours=str(experiment.decision_hours),
        alpha=experiment.alpha,
        power=experiment.power,
    )


def submitted_test(form: Any) -> TestDraft:
    """The test's fields of a posted editor form."""

    def text(name: str, default: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else default

    return TestDraft(
        on=form.get("ab_test") == "on",
        metric=text("metric", "click"),
        baseline_pct=text("baseline_pct", ""),
        lift_pct=text("lift_pct", ""),
        test_share_pct=text("test_share_pct", "100"),
        looks=text("looks", "5"),
        decision_hours=text("decision_hours", "72"),
        alpha=_fraction_field(form.get("alpha"), 0.05),
        power=_fraction_field(form.get("power"), 0.8),
    )


def _percent_text(share: float) -> str:
    """0.05 → "5", 0.125 → "12.5" (what the owner typed, give or take trailing zeros)."""
    return f"{share * 100:.4f}".rstrip("0").rstrip(".")


def _fraction_field(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if 0 < number < 1 else default


def _percent(text: str, name: str, message: str) -> float:
    """A percentage as typed ("5", "5.5", "5,5", "5 %") as a fraction."""
    cleaned = text.replace("%", "").replace(",", ".").strip()
    try:
        number = float(cleaned)
    except ValueError:
        raise ValidationError(message, field=name) from None
    if not math.isfinite(number):
        raise ValidationError(message, field=name)
    return number / 100


def _whole(text: str, low: int, high: int, name: str, message: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValidationError(message, field=name) from None
    if not low <= number <= high:
        raise ValidationError(message, field=name)
    return number


def test_design(test: TestDraft) -> dict[str, Any]:
    """The test's keyword arguments for ``set_experiment``; a value out of range is an error
    naming its field, in words the page translates."""
    if test.metric not in METRICS:
        raise ValidationError(N_("Choose what the test counts: clicks or orders."), field="metric")
    rate_message = N_("The current rate is a percentage between 0 and 100, such as 5.")
    baseline = _percent(test.baseline_pct, "baseline_pct", rate_message)
    if not 0 < baseline < 1:
        raise ValidationError(rate_message, field="baseline_pct")
    lift_message = N_(
        "The lift worth finding is in percentage points, above 0 (5% → 6% is 1 point), and "
        "the current rate plus the lift stays below 100%."
    )
    lift = _percent(test.lift_pct, "lift_pct", lift_message)
    if lift <= 0 or baseline + lift >= 1:
        raise ValidationError(lift_message, field="lift_pct")
    share_message = N_("The share in the test is a percentage above 0 and at most 100.")
    share = _percent(test.test_share_pct, "test_share_pct", share_message)
    if not 0 < share <= 1:
        raise ValidationError(share_message, field="test_share_pct")
    looks = _whole(
        test.looks, 1, MAX_LOOKS, "looks", N_("The number of looks is a whole number, 1 to 20.")
    )
    hours = _whole(
        test.decision_hours,
        1,
        24 * 60,
        "decision_hours",
        N_("The test decides within 1 to 1,440 hours."),
    )
    return {
        "metric": test.metric,
        "baseline_rate": round(baseline, 6),
        "minimum_lift": round(lift, 6),
        "test_share": round(share, 6),
        "alpha": test.alpha,
        "power": test.power,
        "looks": looks,
        "decision_hours": hours,
    }


def holdout_share(text: str) -> float:
    message = N_("The holdout share is a percentage from 0 to 50.")
    share = _percent(text or "0", "holdout_pct", message)
    if not 0 <= share <= 0.5:
        raise ValidationError(message, field="holdout_pct")
    return round(share, 6)


def send_window(send_time: str, hours: str) -> tuple[str, int]:
    if send_time not in SEND_TIMES:
        raise ValidationError(N_("Choose when the messages go."), field="send_time")
    window = _whole(
        hours or "24", 1, 168, "send_window_hours", N_("The send window is 1 to 168 hours.")
    )
    return send_time, window


@dataclass
class ExperimentForm:
    """The editor's A/B part: the variants after A, the test, the holdout and the send time."""

    versions: Versions = field(default_factory=Versions)
    test: TestDraft = field(default_factory=TestDraft)
    holdout_pct: str = "0"
    send_time: str = "now"
    send_window_hours: str = "24"

    def variant_count(self) -> int:
        return 1 + len(self.versions.written())


def saved_form(session: Any, campaign: Any) -> ExperimentForm:
    return ExperimentForm(
        versions=saved_versions(session, campaign.id),
        test=saved_test(session, campaign.id),
        holdout_pct=_percent_text(campaign.holdout_share) or "0",
        send_time=campaign.send_time,
        send_window_hours=str(campaign.send_window_hours),
    )


def submitted_form(form: Any, suffix: dict[str, str]) -> ExperimentForm:
    def text(name: str, default: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else default

    return ExperimentForm(
        versions=submitted_versions(form, suffix),
        test=submitted_test(form),
        holdout_pct=text("holdout_pct", "0"),
        send_time=text("send_time", "now"),
        send_window_hours=text("send_window_hours", "24"),
    )


def save_test(session: Any, campaign_id: int, actor: str, ab: ExperimentForm) -> None:
    """Store the variants after A, the holdout, the send time and the test (or its absence)
    as the editor's form holds them; every figure is checked before anything is written."""
    versions, test = ab.versions, ab.test
    design = test_design(test) if test.on else None
    holdout = holdout_share(ab.holdout_pct)
    when, window = send_window(ab.send_time, ab.send_window_hours)
    if test.on and not versions.written():
        raise ValidationError(
            N_("An A/B test needs a version B: write its subject and body."), field="variant"
        )
    for variant in VARIANTS[1:]:
        saved = contents_of(session, campaign_id, variant)
        filled = versions.filled(variant)
        for lang in LANGUAGES:
            if lang in filled:
                subject, body = versions.subject(variant, lang), versions.body(variant, lang)
                set_content(session, campaign_id, lang, subject, body, actor, variant=variant)
            elif lang in saved:
                remove_content(session, campaign_id, lang, actor, variant=variant)
    update_campaign(
        session, campaign_id, actor, holdout_share=holdout, send_time=when, send_window_hours=window
    )
    if design is not None:
        set_experiment(session, campaign_id, actor, **design)
    elif get_experiment(session, campaign_id) is not None:
        remove_experiment(session, campaign_id, actor)


# --- the sample-size guide ------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _guide(
    baseline: float,
    lift: float,
    reachable: int,
    variants: int,
    test_share: float,
    holdout: float,
    alpha: float,
    power: float,
    looks: int,
) -> dict[str, Any]:
    """``sample_size_guide``, remembered for the last figures typed: the editor asks again with
    the same figures as the owner types back and forth, and when the page reloads after a
    save."""
    return sample_size_guide(
        baseline_rate=baseline,
        minimum_lift=lift,
        reachable=reachable,
        variants=variants,
        test_share=test_share,
        holdout_share=holdout,
        alpha=alpha,
        power=power,
        looks=looks,
    )


def guide_context(
    request: Request,
    session: Any,
    test: TestDraft,
    *,
    segment: str,
    channel: str,
    holdout_pct: str,
    variants: int,
) -> dict[str, Any]:
    """What the guide partial shows for the form's figures: the guide, or the sentence saying
    which figure cannot be used; ``reachable`` is None until a segment is chosen."""
    reachable = None
    if segment.strip().isdigit():
        try:
            counts = count_segment_audience(
                session, int(segment), channel, request.app.state.settings.currency
            )
            reachable = int(counts["reachable"])
        except SoloistError:
            reachable = None
    try:
        design = test_design(test)
        holdout = holdout_share(holdout_pct)
        guide = _guide(
            design["baseline_rate"],
            design["minimum_lift"],
            reachable or 0,
            max(2, variants),
            design["test_share"],
            holdout,
            design["alpha"],
            design["power"],
            design["looks"],
        )
    except SoloistError as exc:
        sentence, _detail = wording(request).error(exc.code, exc.message)
        return {"guide": None, "guide_problem": sentence, "reachable": reachable}
    return {"guide": guide, "guide_problem": None, "reachable": reachable, "holdout": holdout}


@router.get("/campaigns/guide")
def guide(
    request: Request,
    user: CurrentUser,
    segment: str = "",
    channel: str = "email",
    metric: str = "click",
    baseline_pct: str = "",
    lift_pct: str = "",
    test_share_pct: str = "100",
    looks: str = "5",
    holdout_pct: str = "0",
    variants: int = 2,
    alpha: float = 0.05,
    power: float = 0.8,
    ab_test: str = "",
    from_editor: str = "",
) -> Response:
    """The sample-size guide for the figures as typed (the editor asks as the owner types;
    with its test switched off, the guide says so)."""
    test = TestDraft(
        on=True,
        metric=metric,
        baseline_pct=baseline_pct,
        lift_pct=lift_pct,
        test_share_pct=test_share_pct,
        looks=looks,
        alpha=_fraction_field(alpha, 0.05),
        power=_fraction_field(power, 0.8),
    )
    context: dict[str, Any] = {"guide": None, "guide_problem": None, "reachable": None}
    if from_editor and ab_test != "on":
        context["off"] = True
    elif baseline_pct.strip() or lift_pct.strip():
        with request.app.state.database.read_session() as session:
            context = guide_context(
                request,
                session,
                test,
                segment=segment,
                channel=channel,
                holdout_pct=holdout_pct,
                variants=min(max(variants, 2), len(VARIANTS)),
            )
    return render(request, "campaigns/_guide.html", context, user=user)


# --- the results panels ---------------------------------------------------------------------


def _span(*values: float) -> float:
    """Half the width of an interval plot: the largest distance from zero, and some room."""
    largest = max((abs(v) for v in values if v is not None), default=0.0)
    return largest * 1.15 if largest > 0 else 1.0


def _position(value: float, span: float) -> float:
    """Where ``value`` sits on a plot from −span (0 %) through 0 (50 %) to +span (100 %)."""
    return round(min(100.0, max(0.0, 50 + 50 * value / span)), 2)


def interval_plot(
    difference: float, low: float, high: float, span: float, target: float | None = None
) -> dict[str, Any]:
    """The geometry of one interval (percentages of the track's width) and its figures."""
    return {
        "difference": difference,
        "low": low,
        "high": high,
        "span": span,
        "x_point": _position(difference, span),
        "x_low": _position(low, span),
        "x_width": round(_position(high, span) - _position(low, span), 2),
        "x_zero": _position(0.0, span),
        "x_target": None if target is None else _position(target, span),
        "includes_zero": low <= 0 <= high,
    }


def _at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def experiment_panel(
    session: Any, campaign_id: int, currency: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The A/B test's results with what the panel draws, or None without a test."""
    results = experiment_results(session, campaign_id, currency, now)
    if results is None:
        return None
    compared = [arm for arm in results["variants"] if arm.get("against_a")]
    span = _span(
        results["minimum_lift"],
        *(arm["against_a"]["ci_low"] for arm in compared),
        *(arm["against_a"]["ci_high"] for arm in compared),
    )
    for arm in compared:
        versus = arm["against_a"]
        arm["plot"] = interval_plot(
            versus["difference"], versus["ci_low"], versus["ci_high"], span, results["minimum_lift"]
        )
    if len(compared) == 1:  # the loss of keeping A is the other side of the one comparison
        control = next(arm for arm in results["variants"] if arm["variant"] == "A")
        control["expected_loss"] = compared[0]["against_a"].get("expected_loss_a")
    for arm in compared:
        arm["expected_loss"] = arm["against_a"].get("expected_loss")
    for look in results["looks_taken"]:
        look["at"] = _at(look["at"])
    results["next_look"] = _at(results["next_look_at"])
    results["decided"] = _at(results["decided_at"])
    results["span"] = span
    results["confidence"] = 1 - results["alpha_per_comparison"]
    results["open"] = results["status"] != "decided"
    return results


def effect_panel(effect: dict[str, Any] | None) -> dict[str, Any] | None:
    """A measured effect (a campaign's or a journey's holdout) with its intervals to draw."""
    if effect is None:
        return None
    bought = effect["bought"]
    bought["plot"] = interval_plot(
        bought["difference"], bought["ci_low"], bought["ci_high"], _span(bought["ci_low"],
                                                                          bought["ci_high"])
    )  # fmt: skip
    for key in ("revenue_per_customer", "revenue_per_customer_adjusted"):
        revenue = effect.get(key)
        if revenue is None:
            continue
        for name in ("receivers_mean", "holdout_mean", "difference", "ci_low", "ci_high"):
            revenue[name] = Decimal(revenue[name])
        low, high = float(revenue["ci_low"]), float(revenue["ci_high"])
        revenue["plot"] = interval_plot(float(revenue["difference"]), low, high, _span(low, high))
    for name in ("incremental_revenue", "incremental_revenue_low", "incremental_revenue_high"):
        effect[name] = Decimal(effect[name])
    if effect.get("window_ends"):
        effect["window_end"] = _at(effect["window_ends"])
    return effect


def holdout_panel(
    session: Any, campaign_id: int, currency: str, now: dt.datetime
) -> dict[str, Any] | None:
    return effect_panel(holdout_effect(session, campaign_id, currency, now))
