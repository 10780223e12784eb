"""Every code a page shows has a label in soloist.web.labels (so no page shows a raw code)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import soloist.domain
import soloist.domain.customers.overview
from soloist.analytics.segmentation import RFM_SEGMENTS
from soloist.domain.campaigns import FIELDS, LANGUAGES
from soloist.domain.campaigns.templates import PARTS
from soloist.domain.customers import SORTS
from soloist.domain.imports import KINDS
from soloist.domain.loyalty.rules import BONUS_KINDS
from soloist.domain.scoring.reasons import REASON_SCORES
from soloist.errors import SoloistError
from soloist.imports import FORMATS
from soloist.storage import models
from soloist.storage.models.engagement import SURVEY_KINDS
from soloist.storage.models.outreach import SEGMENT_KINDS
from soloist.web import labels
from soloist.web.security import CsrfError, LoginRequiredError


def _timeline_kinds() -> set[str]:
    """The ``kind=`` of every TimelineItem the customer overview builds."""
    tree = ast.parse(inspect.getsource(soloist.domain.customers.overview))
    kinds = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "TimelineItem":
            for keyword in call.keywords:
                if keyword.arg == "kind" and isinstance(keyword.value, ast.Constant):
                    kinds.add(str(keyword.value.value))
    return kinds


def _error_codes() -> set[str]:
    """The code of every SoloistError the app (pages, API, domain) can raise."""
    importlib.import_module("soloist.app")
    found, todo = set(), [SoloistError]
    while todo:
        error = todo.pop()
        found.add(error.code)
        todo.extend(error.__subclasses__())
    return found


def _loyalty_rule_names() -> set[str]:
    """The names of the ``rule:<name>`` actors the domain writes into the points ledger."""
    names = set()
    for path in Path(soloist.domain.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and (found := re.fullmatch(r"rule:(\w+)", text)):
                names.add(found.group(1))
    return names


# Fields a template offers that the editor does not list: the address and language are the
# message's own business, and a recommendation is shown by its name.
_UNLISTED_FIELDS = {"email", "language", "recommendation"}

CODES = {
    "sort orders": (labels.SORT_LABELS, set(SORTS)),
    "import kinds": (labels.IMPORT_KINDS, set(KINDS)),
    "file formats": (labels.FORMAT_LABELS, set(FORMATS.names())),
    "timeline kinds": (labels.TIMELINE_KINDS, _timeline_kinds()),
    "segment kinds": (labels.SEGMENT_KINDS, {"scored", *SEGMENT_KINDS}),
    "RFM segments": (labels.SEGMENT_NAMES, set(RFM_SEGMENTS)),
    "reason groups": (labels.REASON_SCORES, set(REASON_SCORES)),
    "roles": (labels.ROLES, set(models.ROLES)),
    "token scopes": (labels.TOKEN_SCOPES, set(models.TOKEN_SCOPES)),
    "order statuses": (labels.ORDER_STATUSES, set(models.ORDER_STATUSES)),
    "ticket statuses": (labels.TICKET_STATUSES, set(models.TICKET_STATUSES)),
    "ticket priorities": (labels.TICKET_PRIORITIES, set(models.TICKET_PRIORITIES)),
    "interaction channels": (labels.INTERACTION_CHANNELS, set(models.INTERACTION_CHANNELS)),
    "interaction directions": (
        labels.INTERACTION_DIRECTIONS,
        set(models.INTERACTION_DIRECTIONS),
    ),
    "consent channels": (labels.CONSENT_CHANNELS, set(models.CONSENT_CHANNELS)),
    "survey kinds": (labels.SURVEY_KINDS, set(SURVEY_KINDS)),
    "ledger kinds": (labels.LEDGER_KINDS, set(models.LEDGER_KINDS)),
    "reward kinds": (labels.REWARD_KINDS, set(models.REWARD_KINDS)),
    "loyalty rules": (labels.LOYALTY_RULES, _loyalty_rule_names()),
    "bonus kinds": (labels.BONUS_KINDS, set(BONUS_KINDS)),
    "error codes": (labels.ERROR_MESSAGES, _error_codes()),
    "campaign statuses": (labels.CAMPAIGN_STATUSES, set(models.CAMPAIGN_STATUSES)),
    "campaign channels": (labels.CAMPAIGN_CHANNELS, set(models.CAMPAIGN_CHANNELS)),
    "message statuses": (labels.MESSAGE_STATUSES, set(models.MESSAGE_STATUSES)),
    "reasons a customer is left out": (
        labels.AUDIENCE_REASONS,
        {"no_address", "no_consent", *models.SUPPRESSION_REASONS, "other"},
    ),
    "campaign languages": (labels.CAMPAIGN_LANGUAGES, set(LANGUAGES)),
    "A/B test metrics": (labels.TEST_METRICS, set(models.TEST_METRICS)),
    "send times": (labels.SEND_TIMES, set(models.SEND_TIMES)),
    "journey triggers": (labels.JOURNEY_TRIGGERS, set(models.JOURNEY_TRIGGERS)),
    "journey statuses": (labels.JOURNEY_STATUSES, set(models.JOURNEY_STATUSES)),
    "journey actions": (labels.JOURNEY_ACTIONS, set(models.JOURNEY_ACTIONS)),
    "journey entry states": (
        labels.JOURNEY_ENTRY_STATES,
        {*models.JOURNEY_ENTRY_STATES, "would_send", "would_have_sent", "before_start"},
    ),
    "template parts": (labels.TEMPLATE_PARTS, set(PARTS)),
    "template fields": (
        labels.TEMPLATE_FIELDS,
        {f"customer.{f}" for f in FIELDS if f not in _UNLISTED_FIELDS}
        | {"customer.recommendation.name", "unsubscribe_url"},
    ),
}


@pytest.mark.parametrize("what", sorted(CODES))
def test_every_code_has_a_label(what: str) -> None:
    table, codes = CODES[what]
    assert codes, f"found no {what}"
    assert sorted(codes - set(table)) == []


def test_the_timeline_kinds_are_found() -> None:
    assert _timeline_kinds() == {"order", "interaction", "survey", "review", "ticket", "campaign"}


def test_no_label_is_a_synthetic_key() -> None:
    for name, table in labels.TABLES.items():
        for code, label in table.items():
            assert ":" not in label or " " in label, f"{name}[{code!r}] = {label!r}"
            assert label
            assert label.strip() == label


def test_the_web_apps_own_errors_are_worded_by_their_code() -> None:
    assert {CsrfError.code, LoginRequiredError.code} <= set(labels.ERROR_MESSAGES)
