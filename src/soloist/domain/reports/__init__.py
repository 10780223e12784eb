"""The owner's periodic report (``soloist report``, the Reports page, the worker's e-mail):
figures of the last complete month or week beside the previous one's.

The interfaces import from here, never from the modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.reports.build import Report, build_report, current_report
    from soloist.domain.reports.commerce import MOVEMENTS, Compared
    from soloist.domain.reports.mailing import RenderedReport, mail_report, report_recipients
    from soloist.domain.reports.periods import PERIOD_KINDS, Period, report_periods

_MODULE_OF = {
    "MOVEMENTS": "commerce",
    "PERIOD_KINDS": "periods",
    "Compared": "commerce",
    "Period": "periods",
    "RenderedReport": "mailing",
    "Report": "build",
    "build_report": "build",
    "current_report": "build",
    "mail_report": "mailing",
    "report_periods": "periods",
    "report_recipients": "mailing",
}
__all__ = [
    "MOVEMENTS",
    "PERIOD_KINDS",
    "Compared",
    "Period",
    "RenderedReport",
    "Report",
    "build_report",
    "current_report",
    "mail_report",
    "report_periods",
    "report_recipients",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
