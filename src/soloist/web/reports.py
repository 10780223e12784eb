"""The owner's report as HTML: a page of the app (printable to PDF from the browser) and a
self-contained file (``soloist report``, the worker's e-mail) with its style and charts inline,
in the owner's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from soloist.config import Settings
from soloist.domain.jobs import JobContext, JobRefusedError
from soloist.domain.reports import MOVEMENTS, RenderedReport, Report, current_report, mail_report
from soloist.errors import ChannelNotConfiguredError, ValidationError
from soloist.money import minor_to_decimal
from soloist.web.charts import bar_chart, line_chart
from soloist.web.i18n import LOCALES, Formatter, Translator, normalise_locale
from soloist.web.labels import TABLES
from soloist.web.rendering import (
    FIRST_FIGURES_WAIT_SECONDS,
    render,
    render_pending,
    templates,
    wording,
)
from soloist.web.security import CurrentUser
from soloist.web.wording import Wording

router = APIRouter(include_in_schema=False)
STYLE_FILE = Path(__file__).parent / "static" / "report.css"
SCALES = {"nps": (-100.0, 100.0), "csat": (0.0, 1.0), "ces": (1.0, 7.0)}


def _charts(report: Report, words: Wording) -> dict[str, Any]:
    _, fmt, currency = words._, words.fmt, report.currency

    def money(minor: float) -> str:
        return fmt.money(minor_to_decimal(int(minor), currency), currency)

    def short_money(minor: float) -> str:
        major = float(minor_to_decimal(int(minor), currency))
        return fmt.number(major / 1000, 1) + "k" if abs(major) >= 10_000 else fmt.number(major)

    charts: dict[str, Any] = {
        "revenue": bar_chart(_("Revenue by period"), report.revenue.trend, short_money),
        "clv": bar_chart(
            _("Customers by predicted 12-month value"),
            [(f"{short_money(lo)}–{short_money(hi)}", n) for lo, hi, n in
             report.customers.clv_histogram],
            lambda n: fmt.number(n),
            highlight_last=False,
        ),
    }  # fmt: skip
    labels = report.voice.labels
    formats = {
        "nps": lambda v: fmt.number(v),
        "csat": lambda v: fmt.percent(v, 0),
        "ces": lambda v: fmt.number(v, 1),
    }
    for kind, scores in report.voice.trend.items():
        low, high = SCALES[kind]
        charts[kind] = line_chart(
            _(TABLES["SURVEY_KINDS"][kind]),
            labels,
            [s.value for s in scores],
            formats[kind],
            low=low,
            high=high,
        )
    charts["money"] = money
    return charts


def report_context(report: Report, words: Wording) -> dict[str, Any]:
    return {
        "report": report,
        "charts": _charts(report, words),
        "movements": MOVEMENTS,
        "voice_answers": sum(s.responses for scores in report.voice.trend.values() for s in scores),
        "major": lambda minor: minor_to_decimal(int(minor), report.currency),
        "decimal": Decimal,
    }


def report_file(report: Report, settings: Settings, locale: str | None = None) -> str:
    """The report as one self-contained HTML document in ``locale`` (default: the workspace's)."""
    code = normalise_locale(locale) or settings.locale
    code = code if code in LOCALES else "en"
    words = Wording(Translator(code), Formatter(code, settings.timezone), settings.currency)
    page = {
        **TABLES,
        "_": words._,
        "ngettext": words.ngettext,
        "fmt": words.fmt,
        "words": words,
        "locale": code,
        "currency": settings.currency,
        "style": STYLE_FILE.read_text(encoding="utf-8"),
        "generated_at": dt.datetime.now(dt.UTC),
        **report_context(report, words),
    }
    return templates.env.get_template("reports/standalone.html").render(page)


@router.get("/reports")
def report_page(
    request: Request,
    user: CurrentUser,
    period: Annotated[str, Query(pattern="^(month|week)$")] = "month",
) -> Response:
    settings = request.app.state.settings
    with request.app.state.database.read_session() as session:
        report, stale = current_report(
            session,
            settings.currency,
            settings.rates,
            settings.timezone,
            period=period,
            wait=FIRST_FIGURES_WAIT_SECONDS,
        )
    words = wording(request, user)
    if report is None:
        return render_pending(request, words._(TABLES["REPORT_PERIODS"][period]), user=user)
    context = {**report_context(report, words), "period": period, "stale": stale}
    return render(request, "reports/page.html", context, user=user)


def report_mail(report: Report, settings: Settings) -> RenderedReport:
    """The report as an e-mail in the workspace's language: subject, a plain-text summary of
    the headline figures, and the self-contained HTML."""
    code = settings.locale if settings.locale in LOCALES else "en"
    words = Wording(Translator(code), Formatter(code, settings.timezone), settings.currency)
    _, fmt = words._, words.fmt
    title = _(TABLES["REPORT_PERIODS"][report.period.kind])
    revenue = report.revenue.revenue_minor

    def money(minor: float | None) -> str:
        if minor is None:
            return "—"
        return fmt.money(minor_to_decimal(int(minor), report.currency), report.currency)

    lines = [
        f"{title}: {report.period.label}",
        "",
        _("Revenue: %(now)s (before: %(before)s)")
        % {"now": money(revenue.current), "before": money(revenue.previous)},
        _("Active customers: %(now)s (before: %(before)s)")
        % {
            "now": fmt.number(report.customers.active.current),
            "before": fmt.number(report.customers.active.previous),
        },
        "",
        _("The whole report is attached; open it in a browser."),
    ]
    return RenderedReport(
        subject=f"{title}: {report.period.label}",
        text="\n".join(lines),
        html=report_file(report, settings, code),
    )


def report_job(context: JobContext) -> dict[str, Any]:
    """The job kind ``report``: mail the report (``report_schedule``)."""
    if context.database is None:
        raise JobRefusedError("The report needs the workspace's database.")
    try:
        return mail_report(context.database, context.now, report_mail, context.actor)
    except (ValidationError, ChannelNotConfiguredError) as exc:
        raise JobRefusedError(f"The report cannot be mailed: {exc.message}") from exc
