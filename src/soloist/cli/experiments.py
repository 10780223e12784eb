"""``soloist campaign variant|experiment|guide|winner``: A/B variants of a campaign, the test
that decides between them and its sample-size guide, and the winner sent to the rest; and how
``campaign status`` shows a test (each variant's rate with its interval and P(best), the
rule's verdict) and a holdout (the revenue the campaign caused).

:data:`experiment_app` has no name: :mod:`soloist.cli.main` merges its commands into
``soloist campaign``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from soloist.cli.campaigns import (
    BodyOption,
    CampaignArg,
    SubjectOption,
    TextOption,
    naming_files,
    print_send_report,
    read_text,
    report_dict,
    send_now,
)
from soloist.cli.common import Common, cli_actor, out, print_json, shared_options, utcnow
from soloist.errors import SoloistError

experiment_app = typer.Typer()


class Metric(StrEnum):
    """What counts as a success in an A/B test."""

    click = "click"
    conversion = "conversion"


BaselineOption = Annotated[
    float | None,
    typer.Option(
        "--baseline", help="The rate you get now, e.g. 0.05 for 5% of recipients clicking."
    ),
]
LiftOption = Annotated[
    float | None,
    typer.Option(
        "--lift",
        help="The smallest rise worth finding, absolute: 5% → 6% is 0.01.",
    ),
]
AlphaOption = Annotated[
    float, typer.Option("--alpha", help="The false-positive rate the test allows.")
]
PowerOption = Annotated[
    float, typer.Option("--power", help="The chance to find the lift when it is real.")
]
LooksOption = Annotated[
    int, typer.Option("--looks", help="How many times the rule looks at the results (1-20).")
]
TestShareOption = Annotated[
    float,
    typer.Option(
        "--test-share",
        help="The share of the list in the test (0.5: half; the rest gets the winner).",
    ),
]


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _points(value: float | None) -> str:
    """An absolute difference of rates, in percentage points with its sign."""
    return "—" if value is None else f"{value * 100:+.1f} pp"


def print_guide(
    guide: dict[str, Any], *, test_share: float = 1.0, holdout_share: float = 0.0
) -> None:
    """The sample-size guide in words: needed per variant against what the list gives."""
    baseline, lift = guide["baseline_rate"], guide["minimum_lift"]
    variants = guide["variants"]
    out.print(
        f"To find {_pct(baseline)} → {_pct(baseline + lift)} (alpha {guide['alpha']:g}, "
        f"power {_pct(guide['power'], 0)}, {guide['looks']} look"
        f"{'s' if guide['looks'] != 1 else ''}), each variant needs "
        f"{guide['needed_per_variant']:,} recipients ({guide['needed_total']:,} for {variants} "
        "variants).",
        highlight=False,
    )
    shares = []
    if test_share < 1:
        shares.append(f"{_pct(test_share, 0)} of it in the test")
    if holdout_share > 0:
        shares.append(f"{_pct(holdout_share, 0)} held out")
    extra = f" ({', '.join(shares)})" if shares else ""
    out.print(
        f"The list gives each variant {guide['per_variant']:,}: {guide['reachable']:,} "
        f"reachable{extra}.",
        highlight=False,
    )
    detectable = guide["detectable_lift"]
    smallest = (
        f"the smallest lift it finds with {_pct(guide['power'], 0)} power is "
        f"{_points(detectable).lstrip('+')} ({_pct(baseline)} → {_pct(baseline + detectable)})"
        if detectable is not None
        else "no lift is found reliably at that size"
    )
    out.print(
        f"At that size the test finds a lift of {_points(lift).lstrip('+')} with "
        f"{_pct(guide['power_at_size'], 0)} power; {smallest}.",
        highlight=False,
    )
    if not guide["enough"]:
        out.print(
            f"[bold yellow]Warning:[/] the list is too small for this test: it gives each variant "
            f"{guide['per_variant']:,} of the {guide['needed_per_variant']:,} needed. Look for a "
            "larger lift, test fewer variants, put more of the list in the test, or treat the "
            "result as a hint, not a proof.",
            highlight=False,
        )


def _verdict(result: dict[str, Any]) -> str:
    status, winner, decision = result["status"], result["winner"], result["decision"]
    if status == "planned":
        return "The test starts when the campaign is sent."
    if status == "running":
        when = result["next_look_at"]
        taken = len(result["looks_taken"])
        nxt = f"; the next look is at {when} (UTC)" if when else ""
        return f"Running: no decision after {taken} of {result['looks']} looks{nxt}."
    rest = result["test_share"] < 1
    if decision == "winner":
        return f"Variant {winner} wins by the rule fixed before the send" + (
            "; the rest of the list gets it." if rest else "."
        )
    if decision == "no_difference":
        return "No difference found at the last look" + (
            ": the control (A) goes to the rest." if rest else "."
        )
    return f"You chose variant {winner} for the rest before the rule decided."


def print_experiment(result: dict[str, Any]) -> None:
    """Each variant's rate, its interval against A, P(best) and the verdict."""
    what = "clicked" if result["metric"] == "click" else "bought"
    level = f"{(1 - result['alpha_per_comparison']) * 100:g}%"
    table = Table(title=f"A/B test on {result['metric']}s ({result['status']})")
    for column in (
        "variant",
        "sent",
        what,
        "rate",
        f"against A ({level} interval)",
        "p",
        "P(best)",
    ):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for arm in result["variants"]:
        against = arm.get("against_a")
        interval = (
            f"{_points(against['difference'])} ({_points(against['ci_low'])} to "
            f"{_points(against['ci_high'])})"
            if against
            else "—"
        )
        p_value = against["p_value"] if against else None
        mark = " ★" if result["winner"] == arm["variant"] else ""
        table.add_row(
            arm["variant"] + mark,
            f"{arm['sent']:,}",
            f"{arm['successes']:,}",
            _pct(arm["rate"]),
            interval,
            "—" if p_value is None else f"{p_value:.3g}",
            _pct(arm["probability_best"], 0),
        )
    out.print(table)
    out.print(_verdict(result), highlight=False)
    guide = result["guide"]
    if guide is not None:
        out.print(
            f"The list gives each variant {guide['per_variant']:,}"
            + ("." if guide["enough"] else ": too small for this test (see `campaign guide`)."),
            highlight=False,
        )
    if result["waiting"]:
        out.print(f"{result['waiting']:,} recipients wait for the winner.", highlight=False)
    out.print(
        f"Each variant needs {result['needed_per_variant']:,} recipients for the lift you set; "
        "P(best) is the Bayesian view, shown beside the rule and never used to stop.",
        highlight=False,
    )


def print_holdout(effect: dict[str, Any], attributed: str, currency: str) -> None:
    """What the holdout says the campaign caused, beside the raw attributed revenue."""
    bought = effect["bought"]
    out.print(
        f"Holdout: {effect['holdout']:,} customers received nothing ({effect['receivers']:,} "
        f"did). Within {effect['days']} days {_pct(bought['receivers_rate'])} of receivers "
        f"bought against {_pct(bought['holdout_rate'])} of the holdout "
        f"({_points(bought['difference'])}, 95% interval {_points(bought['ci_low'])} to "
        f"{_points(bought['ci_high'])}).",
        highlight=False,
    )
    out.print(
        f"Incremental revenue: {effect['incremental_revenue']} {currency} (95% interval "
        f"{effect['incremental_revenue_low']} to {effect['incremental_revenue_high']}), beside "
        f"{attributed} {currency} attributed (what receivers spent, caused or not)."
        + ("" if effect["significant"] else " Not significant: it may be chance."),
        highlight=False,
    )
    if not effect["complete"]:
        out.print(f"Still measuring until {effect['window_ends']} (UTC).", highlight=False)


def _variant_name(value: str) -> str:
    name = value.strip().upper()
    if len(name) != 1 or not "A" <= name <= "Z":
        raise typer.BadParameter(f"a variant is one letter, A (the control) to Z: {value!r}")
    return name


@experiment_app.command("variant")
@shared_options
def variant_command(
    common: Common,
    campaign_id: CampaignArg,
    variant: Annotated[
        str,
        typer.Argument(
            help="B, C …: another wording to test against A (the campaign's own text).",
            parser=_variant_name,
            metavar="VARIANT",
        ),
    ],
    subject: SubjectOption,
    body_file: BodyOption,
    language: Annotated[str, typer.Option("--language", help="en or zh-CN.")] = "en",
    text_file: TextOption = None,
) -> None:
    """Add (or replace) an A/B variant's version in one language; `experiment` makes the
    campaign a test of its variants."""
    from soloist.domain.campaigns import (
        campaign_summary,
        get_campaign,
        get_experiment,
        set_content,
    )

    body = read_text(body_file)
    text = read_text(text_file) if text_file is not None else None
    with (
        common.open_database() as database,
        naming_files(body_file, text_file),
        database.session() as session,
    ):
        content = set_content(
            session,
            campaign_id,
            language,
            subject,
            body,
            cli_actor(),
            text_body=text,
            variant=variant,
        )
        result = campaign_summary(session, get_campaign(session, campaign_id))
        saved = content.language
        tested = get_experiment(session, campaign_id) is not None
    if common.json:
        print_json(result)
        return
    out.print(
        f"Saved variant {variant} ({saved}) of campaign {campaign_id}; it has variants "
        f"{', '.join(result['variants'])}.",
        highlight=False,
    )
    if not tested:
        out.print(
            f"Without a test only A is sent: `soloist campaign experiment {campaign_id} "
            "--baseline 0.05 --lift 0.01` makes it one.",
            highlight=False,
        )


@experiment_app.command("experiment")
@shared_options
def experiment_command(
    common: Common,
    campaign_id: CampaignArg,
    metric: Annotated[
        Metric, typer.Option("--metric", help="What counts: a click, or an order (conversion).")
    ] = Metric.click,
    baseline: BaselineOption = None,
    lift: LiftOption = None,
    test_share: TestShareOption = 1.0,
    alpha: AlphaOption = 0.05,
    power: PowerOption = 0.8,
    looks: LooksOption = 5,
    decision_hours: Annotated[
        int, typer.Option("--decision-hours", help="The rule decides within this many hours.")
    ] = 72,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the test (the campaign sends A alone).")
    ] = False,
) -> None:
    """Make the campaign an A/B test of its variants, decided by a rule fixed now, and show
    how many recipients it needs beside what its segment gives."""
    from soloist.domain.campaigns import (
        experiment_results,
        get_campaign,
        remove_experiment,
        set_experiment,
        variants_of,
    )

    if not remove and (baseline is None or lift is None):
        raise typer.BadParameter("give --baseline and --lift (or --remove)")
    with common.open_database() as database, database.session() as session:
        currency = database.settings.currency
        if remove:
            remove_experiment(session, campaign_id, cli_actor())
            result = None
        else:
            assert baseline is not None
            assert lift is not None
            set_experiment(
                session,
                campaign_id,
                cli_actor(),
                metric=metric.value,
                baseline_rate=baseline,
                minimum_lift=lift,
                test_share=test_share,
                alpha=alpha,
                power=power,
                looks=looks,
                decision_hours=decision_hours,
            )
            result = experiment_results(session, campaign_id, currency)
        variants = variants_of(session, campaign_id)
        holdout = get_campaign(session, campaign_id).holdout_share
    if common.json:
        print_json(result)
        return
    if result is None:
        out.print(f"Campaign {campaign_id} is no A/B test now: it sends variant A alone.")
        return
    out.print(
        f"Campaign {campaign_id} is an A/B test of {', '.join(variants)} on {metric.value}s; "
        f"the rule looks {looks} times over {decision_hours} hours after the send.",
        highlight=False,
    )
    if len(variants) < 2:
        out.print(
            f"It has variant A only: add one with `soloist campaign variant {campaign_id} B "
            "--subject … --body-file …`.",
            highlight=False,
        )
    if result["guide"] is not None:
        print_guide(result["guide"], test_share=test_share, holdout_share=holdout)


@experiment_app.command("guide")
@shared_options
def guide_command(
    common: Common,
    baseline: BaselineOption = None,
    lift: LiftOption = None,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Count who this segment reaches by e-mail.")
    ] = None,
    reachable: Annotated[
        int | None,
        typer.Option("--reachable", min=0, help="Or give the number of recipients."),
    ] = None,
    variants: Annotated[
        int, typer.Option("--variants", min=2, max=26, help="How many variants, A included.")
    ] = 2,
    test_share: TestShareOption = 1.0,
    holdout: Annotated[
        float,
        typer.Option("--holdout", min=0.0, max=0.5, help="The share held out of the campaign."),
    ] = 0.0,
    alpha: AlphaOption = 0.05,
    power: PowerOption = 0.8,
    looks: LooksOption = 5,
) -> None:
    """How many recipients each variant needs to find a lift, against what a list gives: the
    sample-size guide, before you write a campaign."""
    from soloist.domain.campaigns import count_segment_audience, find_segment, sample_size_guide

    if baseline is None or lift is None:
        raise typer.BadParameter("give --baseline and --lift")
    if (segment is None) == (reachable is None):
        raise typer.BadParameter("give --segment or --reachable (one of them)")
    if reachable is None:
        assert segment is not None
        with common.open_database() as database, database.read_session() as session:
            found = find_segment(session, segment)
            counts = count_segment_audience(session, found.id, "email", database.settings.currency)
            reachable = counts["reachable"]
    guide = sample_size_guide(
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
    if common.json:
        print_json(guide)
        return
    print_guide(guide, test_share=test_share, holdout_share=holdout)


@experiment_app.command("winner")
@shared_options
def winner_command(
    common: Common,
    campaign_id: CampaignArg,
    variant: Annotated[
        str,
        typer.Argument(
            help="The variant the rest of the list gets.", parser=_variant_name, metavar="VARIANT"
        ),
    ],
) -> None:
    """Send a variant to the test's remainder now, before (or instead of) the rule's decision;
    the results still show what the rule said."""
    from soloist.domain.campaigns import SendPolicy, campaign_summary, get_campaign, send_winner

    with common.open_database() as database:
        with database.session() as session:
            policy = SendPolicy.from_settings(database.settings)
            send_winner(session, campaign_id, variant, cli_actor(), utcnow(), policy)
            before = campaign_summary(session, get_campaign(session, campaign_id))
        try:
            report = send_now(common, database, campaign_id, before["messages"])
        except SoloistError as exc:  # the choice stands; `soloist worker` sends it later
            raise type(exc)(
                f"Variant {variant} is chosen for the rest of campaign {campaign_id}, but "
                f"sending stopped: {exc.message}",
                **exc.details,
            ) from None
    if common.json:
        print_json({"variant": variant, "send": report_dict(report)})
        return
    out.print(f"Variant {variant} goes to the rest of campaign {campaign_id}.", highlight=False)
    print_send_report(report, "sending")
