"""The pipeline's stages: their order, names and win probabilities.

A workspace starts with lead 10 %, qualified 25 %, proposal 50 %, negotiation 75 %, won 100 %
and lost 0 % (EspoCRM's and Odoo's shape: each stage carries the probability a deal in it is won,
see docs/sales.md). The owner adds, renames, reorders and re-weights stages, and deletes empty
ones. Rules that keep the board coherent:

- exactly one ``won`` and one ``lost`` stage, at 100 % and 0 %; every stage the owner adds is an
  open one, so neither can be added twice nor deleted;
- the open stages come first and the two closed ones last, so "a later stage" (conversion) and
  "the first stage" (where a new deal starts) always mean one thing;
- at least one open stage remains.

Built-in stages have no stored name (``name`` is None): the interfaces translate their key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.storage.models import DEFAULT_DEAL_STAGES, Deal, DealStage

# English names of the built-in stages (the web app translates them; the CLI and API show these).
BUILT_IN_STAGE_NAMES = {
    "lead": "Lead",
    "qualified": "Qualified",
    "proposal": "Proposal",
    "negotiation": "Negotiation",
    "won": "Won",
    "lost": "Lost",
}
KEY_WIDTH, NAME_WIDTH = 32, 64
_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def stage_label(stage: DealStage) -> str:
    """The owner's name of the stage, else the built-in English name, else its key."""
    return stage.name or BUILT_IN_STAGE_NAMES.get(stage.key, stage.key)


def _default_rows() -> list[DealStage]:
    return [
        DealStage(key=key, name=None, position=index, probability_percent=percent, outcome=outcome)
        for index, (key, percent, outcome) in enumerate(DEFAULT_DEAL_STAGES)
    ]


def list_stages(session: Session) -> list[DealStage]:
    """The stages in board order. A database whose stage table is empty (made without the
    migration that seeds it) shows the built-in stages; the first write stores them."""
    rows = list(session.scalars(select(DealStage).order_by(DealStage.position, DealStage.id)))
    return rows or _default_rows()


def ensure_stages(session: Session) -> list[DealStage]:
    """The stages in board order, the built-in ones stored first if the table is empty."""
    rows = list(session.scalars(select(DealStage).order_by(DealStage.position, DealStage.id)))
    if rows:
        return rows
    try:
        with session.begin_nested():
            session.add_all(_default_rows())
    except IntegrityError:  # another writer stored them at the same moment
        pass
    return list(session.scalars(select(DealStage).order_by(DealStage.position, DealStage.id)))


def get_stage(session: Session, key: str) -> DealStage:
    for stage in list_stages(session):
        if stage.key == key:
            return stage
    known = ", ".join(s.key for s in list_stages(session))
    raise NotFoundError(f"No stage {key!r}; the stages are {known}.", field="stage", stage=key)


def _stored_stage(session: Session, key: str) -> DealStage:
    ensure_stages(session)
    stage = session.scalar(select(DealStage).where(DealStage.key == key))
    if stage is None:
        get_stage(session, key)  # raises, naming the stages there are
    assert stage is not None
    return stage


def first_stage(session: Session) -> DealStage:
    """Where a new deal starts: the first open stage."""
    return next(s for s in ensure_stages(session) if s.outcome == "open")


def stage_for_outcome(session: Session, outcome: str) -> DealStage:
    """The one ``won`` or ``lost`` stage."""
    for stage in ensure_stages(session):
        if stage.outcome == outcome:
            return stage
    raise ValidationError(f"Unknown outcome {outcome!r}; use won or lost.", field="outcome")


def _check_probability(percent: int) -> int:
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValidationError(
            f"probability: a whole percent from 0 to 100, got {percent!r}.", field="probability"
        )
    return percent


def _check_name(name: str) -> str:
    text = name.strip()
    if not text:
        raise ValidationError("name: a stage needs a name.", field="name")
    if len(text) > NAME_WIDTH:
        raise ValidationError(f"name: at most {NAME_WIDTH} characters.", field="name")
    return text


def _key_from(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[: KEY_WIDTH - 4] or "stage"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key


def create_stage(
    session: Session,
    name: str,
    probability: int,
    actor: str,
    *,
    key: str | None = None,
    position: int | None = None,
) -> DealStage:
    """Add an open stage at ``position`` (0 = first; default: after the last open stage).

    ``key`` (lower-case letters, digits, ``-`` and ``_``) defaults to one made from the name.
    """
    stages = ensure_stages(session)
    text = _check_name(name)
    percent = _check_probability(probability)
    taken = {s.key for s in stages}
    if key is None:
        key = _key_from(text, taken)
    elif not _KEY_PATTERN.match(key) or len(key) > KEY_WIDTH:
        raise ValidationError(
            f"key: lower-case letters, digits, - and _ (at most {KEY_WIDTH}), got {key!r}.",
            field="key",
        )
    elif key in taken:
        raise ConflictError(f"key: a stage {key!r} exists already.", field="key")
    open_count = sum(1 for s in stages if s.outcome == "open")
    index = open_count if position is None else position
    if not 0 <= index <= open_count:
        raise ValidationError(
            f"position: from 0 to {open_count} (the open stages come before won and lost).",
            field="position",
        )
    stage = DealStage(key=key, name=text, probability_percent=percent, outcome="open", position=0)
    session.add(stage)
    order = list(stages)
    order.insert(index, stage)
    _renumber(order)
    session.flush()
    record_audit(
        session, actor, "deal_stage.created", "deal_stage", key,
        {"name": text, "probability": percent, "position": index},
    )  # fmt: skip
    return stage


def _renumber(order: Sequence[DealStage]) -> None:
    for index, stage in enumerate(order):
        stage.position = index


def rename_stage(session: Session, key: str, name: str | None, actor: str) -> DealStage:
    """Give a stage the owner's name; None gives a built-in stage its translated name back."""
    stage = _stored_stage(session, key)
    if name is None:
        if stage.key not in BUILT_IN_STAGE_NAMES:
            raise ValidationError(
                "name: only a built-in stage can go back to its own name.", field="name"
            )
        stage.name = None
    else:
        stage.name = _check_name(name)
    session.flush()
    record_audit(session, actor, "deal_stage.renamed", "deal_stage", key, {"name": stage.name})
    return stage


def reorder_stages(session: Session, keys: Sequence[str], actor: str) -> list[DealStage]:
    """Put the stages in the order of ``keys`` (every stage once): the open stages first, then
    the won and lost stages."""
    stages = {s.key: s for s in ensure_stages(session)}
    if sorted(keys) != sorted(stages) or len(set(keys)) != len(keys):
        raise ValidationError(f"order: name every stage once ({', '.join(stages)}).", field="order")
    order = [stages[key] for key in keys]
    closed_seen = False
    for stage in order:
        if stage.outcome != "open":
            closed_seen = True
        elif closed_seen:
            raise ValidationError(
                "order: the open stages come before the won and lost stages.", field="order"
            )
    _renumber(order)
    session.flush()
    record_audit(session, actor, "deal_stage.reordered", "deal_stage", None, {"order": list(keys)})
    return order


def move_stage(session: Session, key: str, position: int, actor: str) -> list[DealStage]:
    """Move one stage to ``position`` (0 = first) and shift the others."""
    keys = [s.key for s in ensure_stages(session)]
    if key not in keys:
        get_stage(session, key)
    if not 0 <= position < len(keys):
        raise ValidationError(f"position: from 0 to {len(keys) - 1}.", field="position")
    keys.remove(key)
    keys.insert(position, key)
    return reorder_stages(session, keys, actor)


def set_stage_probability(session: Session, key: str, percent: int, actor: str) -> DealStage:
    """Change an open stage's win probability. Its deals that had the old probability follow;
    a deal whose probability the owner set otherwise keeps it."""
    stage = _stored_stage(session, key)
    percent = _check_probability(percent)
    if stage.outcome != "open":
        raise ValidationError(
            f"probability: the {stage.outcome} stage is always "
            f"{100 if stage.outcome == 'won' else 0} %.",
            field="probability",
        )
    old = stage.probability_percent
    stage.probability_percent = percent
    session.execute(
        update(Deal)
        .where(Deal.stage == key, Deal.probability_percent == old)
        .values(probability_percent=percent)
    )
    session.flush()
    record_audit(
        session, actor, "deal_stage.probability_changed", "deal_stage", key,
        {"from": old, "to": percent},
    )  # fmt: skip
    return stage


def delete_stage(session: Session, key: str, actor: str) -> None:
    """Delete an empty open stage (409 while deals are in it). Its past in the deals' stage
    history stays, and counts no more in the statistics."""
    stage = _stored_stage(session, key)
    if stage.outcome != "open":
        raise ConflictError(
            f"The {stage.outcome} stage cannot be deleted: a pipeline has one won and one lost "
            "stage.",
            stage=key,
        )
    stages = ensure_stages(session)
    if sum(1 for s in stages if s.outcome == "open") == 1:
        raise ConflictError("The last open stage cannot be deleted.", stage=key)
    deals = session.scalar(select(func.count(Deal.id)).where(Deal.stage == key)) or 0
    if deals:
        raise ConflictError(
            f"Stage {key!r} has {deals} deal{'s' if deals != 1 else ''}: move them first.",
            stage=key,
            deals=deals,
        )
    session.delete(stage)
    _renumber([s for s in stages if s.key != key])
    session.flush()
    record_audit(session, actor, "deal_stage.deleted", "deal_stage", key, {})
