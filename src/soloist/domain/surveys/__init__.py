"""Survey links: NPS, CSAT and CES questions to one customer on one occasion, answered once on a
public page through a signed, expiring token, and mailed in the customer's language.

The interfaces import from here: ``links`` (tokens, settings, making, opening and answering a
link, listing the answers) and ``sending`` (the message, the ``survey-send`` job, and the CSAT
survey queued when a ticket is resolved).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.surveys.links import (
        SurveyAnsweredError,
        SurveyLinkExpiredError,
        SurveyLinkInvalidError,
        SurveyQuestion,
        SurveySettings,
        create_survey_link,
        find_survey_customer,
        get_survey_link,
        list_survey_responses,
        make_survey_token,
        open_survey,
        read_survey_token,
        resolve_survey_link,
        save_survey_settings,
        submit_survey_answer,
        survey_key,
        survey_settings,
        survey_url,
    )
    from soloist.domain.surveys.sending import (
        SEND_JOB,
        SurveySendResult,
        business_name,
        queue_csat_for_resolved_ticket,
        run_survey_send_job,
        send_survey_link,
        survey_email,
    )

_MODULE_OF = {
    "get_survey_link": "links",
    "SEND_JOB": "sending",
    "SurveyAnsweredError": "links",
    "SurveyLinkExpiredError": "links",
    "SurveyLinkInvalidError": "links",
    "SurveyQuestion": "links",
    "SurveySendResult": "sending",
    "SurveySettings": "links",
    "business_name": "sending",
    "create_survey_link": "links",
    "find_survey_customer": "links",
    "list_survey_responses": "links",
    "make_survey_token": "links",
    "open_survey": "links",
    "queue_csat_for_resolved_ticket": "sending",
    "read_survey_token": "links",
    "resolve_survey_link": "links",
    "run_survey_send_job": "sending",
    "save_survey_settings": "links",
    "send_survey_link": "sending",
    "submit_survey_answer": "links",
    "survey_email": "sending",
    "survey_key": "links",
    "survey_settings": "links",
    "survey_url": "links",
}
__all__ = [
    "SEND_JOB",
    "SurveyAnsweredError",
    "SurveyLinkExpiredError",
    "SurveyLinkInvalidError",
    "SurveyQuestion",
    "SurveySendResult",
    "SurveySettings",
    "business_name",
    "create_survey_link",
    "find_survey_customer",
    "get_survey_link",
    "list_survey_responses",
    "make_survey_token",
    "open_survey",
    "queue_csat_for_resolved_ticket",
    "read_survey_token",
    "resolve_survey_link",
    "run_survey_send_job",
    "save_survey_settings",
    "send_survey_link",
    "submit_survey_answer",
    "survey_email",
    "survey_key",
    "survey_settings",
    "survey_url",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
