"""Referral codes, attribution of the referred customer's first order, and fraud checks.

A referral is refused — and nothing is stored — when the referred customer is the referrer under
another record (same e-mail or phone hash, or the same postal address once normalised), when it
would close a loop (A refers B, B refers A, or any chain back to the referrer), when the referred
customer has bought before, or is in the programme's holdout group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.contacts import normalise_address
from soloist.domain.customers.records import get_customer
from soloist.domain.loyalty.ledger import HOLDOUT, MEMBER, add_entry, find_entry
from soloist.domain.loyalty.rules import ProgrammeSettings
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.keys import keyring_for
from soloist.storage.models import Customer, LoyaltyAccount, Order, Referral
from soloist.storage.types import utcnow


class ReferralRejectedError(ConflictError):
    code = "referral_rejected"


#: Hexadecimal characters of a referral code: 40 bits, short enough to read out.
CODE_LENGTH = 10


def referral_code_for(session: Session, customer_id: int, attempt: int = 0) -> str:
    """A member's code: a keyed hash of their id, so it is stable and cannot be guessed.
    ``attempt`` > 0 gives the alternatives, for a member whose code another member holds."""
    message = str(customer_id) if attempt == 0 else f"{customer_id}#{attempt}"
    digest = keyring_for(session).lookup_hash(message, "referral")
    return digest[:CODE_LENGTH].upper()


def unique_referral_codes(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    """The codes of members about to join: each one's first code no account holds (nor another
    of them). Two ids' codes are the same by chance about once in nine programmes of 500,000
    members (the million-customer demo's launch failed on the unique key); the second then
    takes its next alternative."""
    from soloist.storage.bulk import CHUNK, among, chunks  # Polars: not at every start

    first = {customer_id: referral_code_for(session, customer_id) for customer_id in customer_ids}
    held: set[str | None] = set()
    for part in chunks(sorted(set(first.values())), CHUNK):
        code_column = LoyaltyAccount.referral_code
        held.update(session.scalars(select(code_column).where(among(session, code_column, part))))
    codes: dict[int, str] = {}
    for customer_id in customer_ids:
        code, attempt = first[customer_id], 0
        while code in held:
            attempt += 1
            code = referral_code_for(session, customer_id, attempt)
            taken = select(LoyaltyAccount.customer_id).where(LoyaltyAccount.referral_code == code)
            if session.scalar(taken) is not None:
                held.add(code)
        held.add(code)
        codes[customer_id] = code
    return codes


def _same_person(referrer: Customer, referred: Customer) -> str | None:
    if referrer.email_hash and referrer.email_hash == referred.email_hash:
        return "the referred customer has the referrer's e-mail address"
    if referrer.phone_hash and referrer.phone_hash == referred.phone_hash:
        return "the referred customer has the referrer's phone number"
    address = normalise_address(referrer.address)
    if address and address == normalise_address(referred.address):
        return "the referred customer lives at the referrer's address"
    return None


def _closes_loop(session: Session, referrer_id: int, referred_id: int) -> bool:
    """True when ``referred_id`` is the referrer or one of the referrer's referrers up the chain."""
    seen: set[int] = set()
    current: int | None = referrer_id
    while current is not None and current not in seen:
        if current == referred_id:
            return True
        seen.add(current)
        current = session.scalar(
            select(LoyaltyAccount.referred_by_id).where(LoyaltyAccount.customer_id == current)
        )
    return False


def record_referral(
    session: Session,
    code: str,
    referred_id: int,
    actor: str,
    *,
    settings: ProgrammeSettings,
    now: dt.datetime | None = None,
) -> Referral:
    """Attribute ``referred_id`` to the member whose code is ``code``; pending until they buy."""
    at = now or utcnow()
    clean = code.strip().upper()
    if not clean:
        raise ValidationError("Give a referral code.", field="code")
    referrer_account = session.scalar(
        select(LoyaltyAccount).where(LoyaltyAccount.referral_code == clean)
    )
    if referrer_account is None or referrer_account.group != MEMBER:
        raise NotFoundError(f"No member has the referral code {clean!r}.", code=clean)
    referrer = get_customer(session, referrer_account.customer_id)
    referred = get_customer(session, referred_id)

    def reject(reason: str) -> ReferralRejectedError:
        return ReferralRejectedError(f"Referral refused: {reason}.", reason=reason, code=clean)

    if referred.id == referrer.id:
        raise reject("a member cannot refer themselves")
    if session.scalar(select(Referral.id).where(Referral.referred_id == referred.id)) is not None:
        raise reject("this customer was referred already")
    same = _same_person(referrer, referred)
    if same:
        raise reject(same)
    if _closes_loop(session, referrer.id, referred.id):
        raise reject("it would close a referral loop")
    bought = session.scalar(
        select(func.count(Order.id)).where(
            Order.customer_id == referred.id,
            Order.status.in_(settings.earning_statuses),
            Order.ordered_at < at,
        )
    )
    if bought:
        raise reject("the referred customer has bought before")
    account = session.get(LoyaltyAccount, referred.id)
    if account is not None and account.group == HOLDOUT:
        raise reject("the referred customer is in the programme's holdout group")
    if account is None:
        account = LoyaltyAccount(
            customer_id=referred.id,
            group=MEMBER,
            referral_code=unique_referral_codes(session, [referred.id])[referred.id],
            enrolled_at=at,
        )
        session.add(account)
    account.referred_by_id = referrer.id
    referral = Referral(
        referrer_id=referrer.id,
        referred_id=referred.id,
        code=clean,
        status="pending",
        created_at=at,
    )
    session.add(referral)
    session.flush()
    record_audit(
        session,
        actor,
        "loyalty.referral_recorded",
        "referral",
        referral.id,
        {"referrer_id": referrer.id, "referred_id": referred.id},
    )
    return referral


def convert_referral(
    session: Session,
    referred_id: int,
    order: Order,
    actor: str,
    *,
    settings: ProgrammeSettings,
    at: dt.datetime,
) -> Referral | None:
    """On the referred customer's first earning order: mark converted and reward both sides."""
    referral = session.scalar(
        select(Referral).where(Referral.referred_id == referred_id, Referral.status == "pending")
    )
    if referral is None:
        return None
    referral.status = "converted"
    referral.order_id = order.id
    expires = settings.expiry_for(at)
    for role, customer_id in (("referrer", referral.referrer_id), ("referred", referred_id)):
        key = f"bonus:referral:{referral.id}:{role}"
        points = settings.bonus_points.get(role, 0)
        referrer_account = session.get(LoyaltyAccount, customer_id)
        if points <= 0 or find_entry(session, key) is not None:
            continue
        if referrer_account is None or referrer_account.group != MEMBER:
            continue
        add_entry(
            session,
            customer_id,
            "bonus",
            points,
            actor,
            source_type="referral",
            source_id=referral.id,
            reason=f"referral bonus ({role})",
            idempotency_key=key,
            at=at,
            expires_at=expires,
        )
    return referral


def list_referrals(session: Session, customer_id: int) -> list[Referral]:
    """Referrals the customer made (as referrer), newest first."""
    return list(
        session.scalars(
            select(Referral)
            .where(Referral.referrer_id == customer_id)
            .order_by(Referral.created_at.desc(), Referral.id.desc())
        )
    )
