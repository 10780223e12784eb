"""Finding customers who are probably one person, for the owner to merge.

Exact matches (same keyed e-mail or phone hash) are certain; likely ones share a similar name and
something else: the same phone number apart from its last four digits, the same e-mail local
part at another domain, or the same company. Candidates are compared only within such groups,
so the search stays fast on tens of thousands of customers.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.storage.models import Customer

NAME_SIMILARITY = 0.85


@dataclass
class DuplicatePair:
    keep_id: int  # the older record
    merge_id: int
    score: float
    reasons: list[str]
    keep_name: str
    merge_name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).lower()
    return " ".join(sorted("".join(ch if ch.isalnum() else " " for ch in text).split()))


def name_similarity(a: str, b: str) -> float:
    left, right = _name_key(a), _name_key(b)
    if not left or not right:
        return 0.0
    if left == right:
        return 1.0
    return SequenceMatcher(None, left, right).ratio()


def find_duplicate_customers(session: Session, limit: int = 100) -> list[DuplicatePair]:
    """Likely duplicate pairs among active customers, the most certain first."""
    customers = list(
        session.scalars(select(Customer).where(Customer.status == "active").order_by(Customer.id))
    )
    groups: dict[tuple[str, str], list[Customer]] = defaultdict(list)
    for customer in customers:
        if customer.email_hash:
            groups[("same e-mail", customer.email_hash)].append(customer)
        if customer.phone_hash:
            groups[("same phone", customer.phone_hash)].append(customer)
        if customer.phone and len(customer.phone) > 8:
            groups[("similar name, same phone prefix", customer.phone[:-4])].append(customer)
        if customer.email and "@" in customer.email:
            local = customer.email.split("@", 1)[0]
            if len(local) >= 3:
                groups[("similar name, same e-mail name", local)].append(customer)
        if customer.company:
            groups[("similar name, same company", customer.company.strip().lower())].append(
                customer
            )
    pairs: dict[tuple[int, int], DuplicatePair] = {}
    for (reason, _), members in groups.items():
        if len(members) < 2 or len(members) > 200:
            continue
        exact = reason in ("same e-mail", "same phone")
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                score = 1.0 if exact else name_similarity(first.name, second.name)
                if not exact and score < NAME_SIMILARITY:
                    continue
                key = (first.id, second.id)
                pair = pairs.get(key)
                if pair is None:
                    pairs[key] = DuplicatePair(
                        first.id, second.id, round(score, 3), [reason], first.name, second.name
                    )
                elif reason not in pair.reasons:
                    pair.reasons.append(reason)
                    pair.score = max(pair.score, round(score, 3))
    ranked = sorted(pairs.values(), key=lambda p: (-len(p.reasons), -p.score, p.keep_id))
    return ranked[:limit]
