"""Survey links: one NPS, CSAT or CES question to one customer on one occasion (a resolved
ticket, an order, a campaign, or none), answered once on a public page through a signed,
expiring token.

A token is ``<link id>.<secret>.<signature>``, URL-safe:

- ``secret``: 18 random bytes (``secrets.token_urlsafe``, 24 characters); only its SHA-256 is
  stored (``survey_links.secret_hash``), so a copy of the database cannot rebuild a link;
- ``signature``: HMAC-SHA256 (RFC 2104) of ``<link id>.<secret>`` under the survey key, cut to
  its first 128 bits (truncation as NIST SP 800-107 Rev. 1 §5.3.4 allows), base64url. The survey
  key is HKDF-SHA256 (RFC 5869) of the keyring's ``link_key`` with the info
  ``soloist/v1/survey-links``: the message links' key, kept apart by purpose, so a campaign
  token can never pass for a survey token, and signing everyone out (a new session key) breaks
  no survey sent.

A token is checked in that order: its shape and signature (constant time, no database), the
row, then the secret's hash (constant time). Whichever step fails, the answer is the same
:class:`SurveyLinkInvalidError` (404); a genuine link past ``expires_at`` is
:class:`SurveyLinkExpiredError` (410). The first answer creates the ``survey_responses`` row
(one per link: the unique ``survey_link_id``, and the link's row locked while answering); a
later one is :class:`SurveyAnsweredError` (409), unless the link's edit window is still open.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import ConflictError, NotFoundError, SoloistError, ValidationError
from soloist.storage.crypto import Keyring
from soloist.storage.models import (
    Campaign,
    Customer,
    Order,
    SurveyLink,
    SurveyResponse,
    Ticket,
    WorkspaceSetting,
)
from soloist.storage.types import utcnow
from soloist.vocabulary import SURVEY_SCALES

KIND_NAMES = tuple(SURVEY_SCALES)  # nps, csat, ces
SETTINGS_KEY = "surveys"
SURVEY_PATH = "s"  # a survey's URL: {public_url}/s/{token}
COMMENT_LIMIT = 4000  # characters of a comment kept
SECRET_BYTES = 18
SIGNATURE_BYTES = 16
_KEY_INFO = b"soloist/v1/survey-links"
_TOKEN = re.compile(r"([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{22})")


class SurveyLinkInvalidError(NotFoundError):
    """A token we did not make, or one changed on the way: nothing more is said."""

    code = "survey_link_invalid"


class SurveyLinkExpiredError(SoloistError):
    """A genuine link past its expiry; ``details["language"]``: its customer's language."""

    code = "survey_link_expired"
    http_status = 410


class SurveyAnsweredError(ConflictError):
    """The survey was answered already (and its edit window, if any, has closed)."""

    code = "survey_answered"


# --- settings --------------------------------------------------------------------------------


class SurveySettings(BaseModel):
    """How survey links behave, kept as one JSON value in ``workspace_settings``."""

    model_config = ConfigDict(extra="forbid")

    expiry_days: int = Field(default=30, ge=1, le=365, description="A new link works this long.")
    edit_minutes: int = Field(
        default=0,
        ge=0,
        le=30 * 24 * 60,
        description="How long after the first answer it may still be changed; 0: not at all.",
    )
    csat_on_resolve: bool = Field(
        default=True, description="Mail a CSAT survey when a ticket is resolved."
    )


def survey_settings(session: Session) -> SurveySettings:
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    return SurveySettings.model_validate(row.value if row is not None else {})


def save_survey_settings(session: Session, actor: str, **changes: Any) -> SurveySettings:
    """Change some settings; the whole new set is validated before anything is stored."""
    merged = survey_settings(session).model_dump() | changes
    try:
        updated = SurveySettings.model_validate(merged)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ValidationError(f"{field}: {first['msg']}", field=field) from exc
    row = session.get(WorkspaceSetting, SETTINGS_KEY)
    if row is None:
        session.add(WorkspaceSetting(key=SETTINGS_KEY, value=updated.model_dump()))
    else:
        row.value = updated.model_dump()
    record_audit(
        session,
        actor,
        "surveys.settings_changed",
        "workspace_setting",
        SETTINGS_KEY,
        {key: str(value) for key, value in changes.items()},
    )
    return updated


# --- tokens ----------------------------------------------------------------------------------


def survey_key(keyring_or_key: Keyring | bytes) -> bytes:
    """The key survey tokens are signed with: derived from a keyring's ``link_key``, or a key
    given as it is (bytes)."""
    if isinstance(keyring_or_key, bytes):
        return keyring_or_key
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO)
    return hkdf.derive(keyring_or_key.link_key)


def _signature(key: bytes, signed: str) -> str:
    digest = hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def make_survey_token(keyring_or_key: Keyring | bytes, link_id: int, secret: str) -> str:
    signed = f"{link_id}.{secret}"
    return f"{signed}.{_signature(survey_key(keyring_or_key), signed)}"


def survey_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/{SURVEY_PATH}/{token}"


def read_survey_token(keyring_or_key: Keyring | bytes, token: str) -> tuple[int, str] | None:
    """The link id and secret of a token we signed, or None. The signature is compared as
    text, so no second spelling of the same bytes passes."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    link_id, secret, signature = match.groups()
    expected = _signature(survey_key(keyring_or_key), f"{link_id}.{secret}")
    if not hmac.compare_digest(expected, signature):
        return None
    number = int(link_id)
    return (number, secret) if number < 2**63 else None


# --- links -----------------------------------------------------------------------------------


def _occasion(
    session: Session,
    customer: Customer,
    ticket_id: int | None,
    order_id: int | None,
    campaign_id: int | None,
) -> None:
    """Refuse an occasion that does not exist or belongs to another customer."""
    for field, model, value in (
        ("ticket_id", Ticket, ticket_id),
        ("order_id", Order, order_id),
        ("campaign_id", Campaign, campaign_id),
    ):
        if value is None:
            continue
        row = session.get(model, value)
        if row is None:
            raise NotFoundError(f"No {field.removesuffix('_id')} with id {value}.", field=field)
        owner = getattr(row, "customer_id", customer.id)
        if owner != customer.id:
            raise ValidationError(
                f"{field.removesuffix('_id').capitalize()} {value} is not customer "
                f"{customer.id}'s.",
                field=field,
            )


def create_survey_link(
    session: Session,
    keyring_or_key: Keyring | bytes,
    public_url: str,
    *,
    customer_id: int,
    kind: str,
    actor: str,
    ticket_id: int | None = None,
    order_id: int | None = None,
    campaign_id: int | None = None,
    now: dt.datetime | None = None,
    expires_in: dt.timedelta | None = None,
    edit_minutes: int | None = None,
) -> tuple[SurveyLink, str]:
    """A new survey link for ``customer_id`` on an occasion, and its URL (which ends with the
    token; the URL cannot be made again later, only a new link). Expiry and edit window come
    from the survey settings unless given."""
    if kind not in SURVEY_SCALES:
        raise ValidationError(
            f"Unknown survey kind {kind!r}; use one of {', '.join(KIND_NAMES)}.", field="kind"
        )
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"No customer with id {customer_id}.", field="customer_id")
    if customer.status != "active":
        raise ValidationError(
            f"Customer {customer_id} is {customer.status}; a survey goes to active customers.",
            field="customer_id",
        )
    _occasion(session, customer, ticket_id, order_id, campaign_id)
    settings = survey_settings(session)
    window = settings.edit_minutes if edit_minutes is None else edit_minutes
    if not 0 <= window <= 30 * 24 * 60:
        raise ValidationError("The edit window is 0 to 43200 minutes.", field="edit_minutes")
    lifetime = expires_in if expires_in is not None else dt.timedelta(days=settings.expiry_days)
    if lifetime <= dt.timedelta(0):
        raise ValidationError("A survey link must expire in the future.", field="expires_in")
    moment = now or utcnow()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    link = SurveyLink(
        kind=kind,
        customer_id=customer.id,
        ticket_id=ticket_id,
        order_id=order_id,
        campaign_id=campaign_id,
        secret_hash=_secret_hash(secret),
        language=customer.language,
        created_at=moment,
        expires_at=moment + lifetime,
        edit_minutes=window,
        created_by=actor,
    )
    session.add(link)
    session.flush()
    record_audit(
        session,
        actor,
        "survey.link_created",
        "survey_link",
        link.id,
        {
            "kind": kind,
            "customer_id": customer.id,
            "ticket_id": ticket_id,
            "order_id": order_id,
            "campaign_id": campaign_id,
        },
    )
    return link, survey_url(public_url, make_survey_token(keyring_or_key, link.id, secret))


def resolve_survey_link(
    session: Session,
    keyring_or_key: Keyring | bytes,
    token: str,
    now: dt.datetime | None = None,
    *,
    lock: bool = False,
) -> SurveyLink:
    """The link a token names; :class:`SurveyLinkInvalidError` for a token we did not make
    (or a link since deleted), :class:`SurveyLinkExpiredError` past its expiry. ``lock``
    takes the row for the rest of the transaction (``FOR UPDATE``; SQLite's write
    transactions are serial anyway)."""
    read = read_survey_token(keyring_or_key, token)
    if read is None:
        raise SurveyLinkInvalidError("This survey link is not valid.")
    link_id, secret = read
    query = select(SurveyLink).where(SurveyLink.id == link_id)
    if lock:  # a fresh copy of the row, read after any other answer committed
        query = query.with_for_update().execution_options(populate_existing=True)
    link = session.scalar(query)
    if link is None or not hmac.compare_digest(link.secret_hash, _secret_hash(secret)):
        raise SurveyLinkInvalidError("This survey link is not valid.")
    if (now or utcnow()) >= link.expires_at:
        customer = session.get(Customer, link.customer_id)
        language = (customer.language if customer is not None else None) or link.language
        raise SurveyLinkExpiredError("This survey link has expired.", language=language)
    return link


@dataclass(frozen=True)
class SurveyQuestion:
    """What the survey page shows: the question's kind and scale, the occasion, and the answer
    given so far (``editable_until``: it may still be changed until then)."""

    link_id: int
    kind: str
    low: int
    high: int
    customer_id: int
    language: str | None  # the customer's, else the link's
    ticket_subject: str | None
    order_reference: str | None
    expires_at: dt.datetime
    answered: bool
    editable_until: dt.datetime | None
    score: int | None
    comment: str | None


def _editable_until(link: SurveyLink) -> dt.datetime | None:
    if link.submitted_at is None or link.edit_minutes <= 0:
        return None
    return link.submitted_at + dt.timedelta(minutes=link.edit_minutes)


def open_survey(
    session: Session, keyring_or_key: Keyring | bytes, token: str, now: dt.datetime | None = None
) -> SurveyQuestion:
    """The question behind a token, for its page (raises as :func:`resolve_survey_link`)."""
    moment = now or utcnow()
    link = resolve_survey_link(session, keyring_or_key, token, moment)
    customer = session.get(Customer, link.customer_id)
    ticket = session.get(Ticket, link.ticket_id) if link.ticket_id is not None else None
    order = session.get(Order, link.order_id) if link.order_id is not None else None
    answer = session.scalar(select(SurveyResponse).where(SurveyResponse.survey_link_id == link.id))
    until = _editable_until(link)
    low, high = SURVEY_SCALES[link.kind]
    return SurveyQuestion(
        link_id=link.id,
        kind=link.kind,
        low=low,
        high=high,
        customer_id=link.customer_id,
        language=(customer.language if customer is not None else None) or link.language,
        ticket_subject=ticket.subject if ticket is not None else None,
        order_reference=order.external_id if order is not None else None,
        expires_at=link.expires_at,
        answered=answer is not None,
        editable_until=until if until is not None and moment < until else None,
        score=answer.score if answer is not None else None,
        comment=answer.comment if answer is not None else None,
    )


def _checked_answer(kind: str, score: Any, comment: str | None) -> tuple[int, str | None]:
    low, high = SURVEY_SCALES[kind]
    text = str(score).strip() if score is not None else ""
    if not re.fullmatch(r"[0-9]{1,2}", text) or not low <= int(text) <= high:
        raise ValidationError(
            f"Choose a score from {low} to {high}.", field="score", low=low, high=high
        )
    cleaned = (comment or "").replace("\r\n", "\n").strip()
    if len(cleaned) > COMMENT_LIMIT:
        raise ValidationError(f"A comment is at most {COMMENT_LIMIT} characters.", field="comment")
    return int(text), cleaned or None


def submit_survey_answer(
    session: Session,
    keyring_or_key: Keyring | bytes,
    token: str,
    score: int | str,
    *,
    comment: str | None = None,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """Record the answer to a survey link: the first creates the response; a later one changes
    it while the link's edit window is open, else :class:`SurveyAnsweredError`. ``language``
    is the one the page was shown in. Of two answers at the same moment, one wins and the other
    is refused (the link's row is locked; the unique ``survey_link_id`` stands behind it)."""
    moment = now or utcnow()
    link = resolve_survey_link(session, keyring_or_key, token, moment, lock=True)
    value, cleaned = _checked_answer(link.kind, score, comment)
    actor = f"survey:{link.id}"
    if link.submitted_at is not None:
        until = _editable_until(link)
        existing = session.scalar(
            select(SurveyResponse).where(SurveyResponse.survey_link_id == link.id)
        )
        if until is None or moment >= until or existing is None:
            raise SurveyAnsweredError("This survey has been answered already.")
        existing.score, existing.comment, existing.updated_at = value, cleaned, moment
        session.flush()
        record_audit(
            session,
            actor,
            "survey.answer_changed",
            "survey_response",
            existing.id,
            {"kind": link.kind, "score": value, "customer_id": link.customer_id},
        )
        return existing
    response = SurveyResponse(
        customer_id=link.customer_id,
        kind=link.kind,
        score=value,
        comment=cleaned,
        language=language or link.language,
        ticket_id=link.ticket_id,
        order_id=link.order_id,
        campaign_id=link.campaign_id,
        responded_at=moment,
        survey_link_id=link.id,
    )
    try:
        with session.begin_nested():
            session.add(response)
    except IntegrityError as exc:  # answered in a transaction that did not see our lock
        raise SurveyAnsweredError("This survey has been answered already.") from exc
    link.submitted_at = moment
    session.flush()
    # An audited change: the dashboard's figures are recomputed (its cache is keyed on the
    # newest audit entry).
    record_audit(
        session,
        actor,
        "survey.answered",
        "survey_response",
        response.id,
        {
            "kind": link.kind,
            "score": value,
            "customer_id": link.customer_id,
            "survey_link_id": link.id,
        },
    )
    return response


# --- reading ---------------------------------------------------------------------------------


def get_survey_link(session: Session, link_id: int) -> SurveyLink:
    """A survey link by id (for the staff side: its token cannot be read back)."""
    link = session.get(SurveyLink, link_id)
    if link is None:
        raise NotFoundError(f"No survey link with id {link_id}.", field="id")
    return link


def find_survey_customer(session: Session, reference: str | int) -> Customer:
    """A customer by id or e-mail address."""
    from soloist.domain.customers import find_customer_by_email

    text = str(reference).strip()
    found = find_customer_by_email(session, text) if "@" in text else None
    if found is None and text.isdigit() and int(text) < 2**63:
        found = session.get(Customer, int(text))
    if found is None:
        raise NotFoundError(
            f"No customer {text!r} (give an id or an e-mail address).", field="customer"
        )
    return found


def list_survey_responses(
    session: Session,
    *,
    kind: str | None = None,
    customer_id: int | None = None,
    ticket_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SurveyResponse], int]:
    """Survey answers, newest first (those given through links and imported ones); one page
    and the total."""
    if kind is not None and kind not in SURVEY_SCALES:
        raise ValidationError(
            f"Unknown survey kind {kind!r}; use one of {', '.join(KIND_NAMES)}.", field="kind"
        )
    query = select(SurveyResponse)
    if kind is not None:
        query = query.where(SurveyResponse.kind == kind)
    if customer_id is not None:
        query = query.where(SurveyResponse.customer_id == customer_id)
    if ticket_id is not None:
        query = query.where(SurveyResponse.ticket_id == ticket_id)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = session.scalars(
        query.order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(page), total
