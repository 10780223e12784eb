"""Journeys: a message (or a task for the owner) on an occasion in a customer's life — a
welcome, a review request after an order, a birthday, a tier change, points about to expire, a
valuable customer's churn risk, a cancelled subscription — once per customer and occasion,
under the frequency cap and quiet hours, with a holdout that measures what it does.

``definitions`` (create, change, start, pause), ``triggers`` (the occasions each trigger
finds), ``runner`` (the worker's enter-and-act pass) and ``report`` (results, the timeline of
one customer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.journeys.definitions import (
        TRIGGER_DAYS,
        create_journey,
        find_journey,
        get_journey,
        journey_campaign,
        journey_summary,
        list_journeys,
        pause_journey,
        set_journey_content,
        start_journey,
        update_journey,
    )
    from soloist.domain.journeys.report import (
        current_journey_effects,
        journey_effects,
        journey_results,
        journey_timeline,
        summarise_journeys,
    )
    from soloist.domain.journeys.runner import (
        JourneyRunReport,
        act_on_due,
        enter_occasions,
        run_journeys,
    )
    from soloist.domain.journeys.triggers import (
        Occasion,
        find_occasions,
    )

_MODULE_OF = {
    "current_journey_effects": "report",
    "journey_effects": "report",
    "TRIGGER_DAYS": "definitions",
    "JourneyRunReport": "runner",
    "Occasion": "triggers",
    "act_on_due": "runner",
    "create_journey": "definitions",
    "enter_occasions": "runner",
    "find_journey": "definitions",
    "find_occasions": "triggers",
    "get_journey": "definitions",
    "journey_campaign": "definitions",
    "journey_results": "report",
    "journey_summary": "definitions",
    "journey_timeline": "report",
    "list_journeys": "definitions",
    "pause_journey": "definitions",
    "run_journeys": "runner",
    "set_journey_content": "definitions",
    "start_journey": "definitions",
    "summarise_journeys": "report",
    "update_journey": "definitions",
}
__all__ = [
    "TRIGGER_DAYS",
    "JourneyRunReport",
    "Occasion",
    "act_on_due",
    "create_journey",
    "current_journey_effects",
    "enter_occasions",
    "find_journey",
    "find_occasions",
    "get_journey",
    "journey_campaign",
    "journey_effects",
    "journey_results",
    "journey_summary",
    "journey_timeline",
    "list_journeys",
    "pause_journey",
    "run_journeys",
    "set_journey_content",
    "start_journey",
    "summarise_journeys",
    "update_journey",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
