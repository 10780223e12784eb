"""Saved rule segments: a small, safe filter language compiled to SQLAlchemy expressions.

Grammar (keywords are case-insensitive)::

    rule       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" or_expr ")" | comparison
    comparison := FIELD OP value | FIELD ["not"] "in" "(" value ("," value)* ")"
                | FIELD "is" ["not"] "null"
    OP         := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := NUMBER | STRING        (STRING in "double" or 'single' quotes, \\ escapes)

Example: ``clv_12m > 500 and churn_risk >= 0.6 and tag = "vip"``.

The parser builds a tree of tuples; the compiler turns each comparison into a SQLAlchemy
expression over a known field with the value as a *bound parameter*. No text from the rule ever
reaches the SQL string: unknown fields, wrong value types and stray characters (``;``, ``--``)
are syntax errors that name their position.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.scoring.scores import current_runs
from soloist.domain.segment_fields import FIELDS
from soloist.errors import ConflictError, ValidationError
from soloist.money import minor_to_decimal
from soloist.storage.models import (
    Customer,
    CustomerScore,
    CustomerTag,
    Order,
    Segment,
    SegmentMember,
)

__all__ = [
    "FIELDS",
    "RuleSyntaxError",
    "compile_rule",
    "count_rule",
    "customers_matching",
    "list_segments",
    "parse_rule",
    "save_rule_segment",
]

MAX_RULE_LENGTH = 2000
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null"}


class RuleSyntaxError(ValidationError):
    """A rule that cannot be parsed or compiled; ``position`` is the 0-based offset."""

    code = "rule_syntax_error"

    def __init__(self, message: str, rule: str, position: int) -> None:
        pointer = f"\n  {rule}\n  {' ' * position}^"
        super().__init__(
            f"{message} at position {position + 1}.{pointer}", position=position, rule=rule
        )
        self.position = position


Node = tuple[Any, ...]


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(rule: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(rule):
        if rule[pos:].strip() == "":
            break
        match = _TOKEN.match(rule, pos)
        if match is None or match.end() == pos:
            start = pos + len(rule[pos:]) - len(rule[pos:].lstrip())
            raise RuleSyntaxError(f"Unexpected character {rule[start]!r}", rule, start)
        kind = match.lastgroup or ""
        start = match.start(kind)
        text = match.group(kind)
        if kind == "word" and text.lower() in _KEYWORDS:
            kind, text = "keyword", text.lower()
        tokens.append(_Token(kind, text, start))
        pos = match.end()
    tokens.append(_Token("end", "", len(rule)))
    return tokens


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = _tokenize(rule)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> RuleSyntaxError:
        token = token or self.peek()
        found = "the end of the rule" if token.kind == "end" else repr(token.text)
        return RuleSyntaxError(f"{message}, found {found}", self.rule, token.pos)

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.peek()
        if token.kind == kind and (text is None or token.text == text):
            return self.take()
        return None

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("Expected a condition such as churn_risk > 0.5")
        node = self.or_expr(0)
        if self.peek().kind != "end":
            raise self.error("Expected 'and', 'or' or the end of the rule")
        return node

    def or_expr(self, depth: int) -> Node:
        parts = [self.and_expr(depth)]
        while self.accept("keyword", "or"):
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else ("or", *parts)

    def and_expr(self, depth: int) -> Node:
        parts = [self.not_expr(depth)]
        while self.accept("keyword", "and"):
            parts.append(self.not_expr(depth))
        return parts[0] if len(parts) == 1 else ("and", *parts)

    def not_expr(self, depth: int) -> Node:
        if depth > 50:
            raise self.error("The rule nests too deeply")
        if self.accept("keyword", "not"):
            return ("not", self.not_expr(depth + 1))
        if self.accept("punct", "("):
            node = self.or_expr(depth + 1)
            if not self.accept("punct", ")"):
                raise self.error("Expected ')'")
            return node
        return self.comparison()

    def value(self, field: str, kind: str) -> Any:
        token = self.peek()
        if token.kind == "number" and kind == "number":
            self.take()
            return float(token.text)
        if token.kind == "string" and kind in ("text", "tag"):
            self.take()
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        wanted = "a number" if kind == "number" else "a quoted text value"
        raise self.error(f"Expected {wanted} for {field}")

    def comparison(self) -> Node:
        token = self.peek()
        if token.kind != "word":
            raise self.error("Expected a field name")
        if token.text not in FIELDS:
            raise RuleSyntaxError(
                f"Unknown field {token.text!r}; known fields: {', '.join(FIELDS)}",
                self.rule,
                token.pos,
            )
        self.take()
        name, kind = token.text, FIELDS[token.text].kind
        if self.accept("keyword", "is"):
            negate = bool(self.accept("keyword", "not"))
            if not self.accept("keyword", "null"):
                raise self.error("Expected 'null' after 'is'")
            return ("null", name, negate)
        negate = False
        if self.peek().kind == "keyword" and self.peek().text == "not":
            self.take()
            negate = True
            if self.peek().text != "in":
                raise self.error("Expected 'in' after 'not'")
        if self.peek().text == "in" and name == "days_since_last_order":
            raise self.error("days_since_last_order takes <, <=, > or >=")
        if self.accept("keyword", "in"):
            if not self.accept("punct", "("):
                raise self.error("Expected '(' after 'in'")
            values = [self.value(name, kind)]
            while self.accept("punct", ","):
                values.append(self.value(name, kind))
            if not self.accept("punct", ")"):
                raise self.error("Expected ',' or ')'")
            return ("in", name, tuple(values), negate)
        op = self.accept("op")
        if op is None:
            raise self.error(f"Expected a comparison (=, !=, <, <=, >, >=, in) after {name}")
        if kind == "tag" and op.text not in ("=", "!="):
            raise RuleSyntaxError("A tag can only be compared with = or !=", self.rule, op.pos)
        if name == "days_since_last_order" and op.text in ("=", "!="):
            raise RuleSyntaxError("days_since_last_order takes <, <=, > or >=", self.rule, op.pos)
        return ("cmp", name, op.text, self.value(name, kind))


def parse_rule(rule: str) -> Node:
    """Parse ``rule`` into a tree; raises :class:`RuleSyntaxError` (and nothing else)."""
    if not isinstance(rule, str):
        raise RuleSyntaxError("A rule must be text", "", 0)
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(f"The rule is longer than {MAX_RULE_LENGTH} characters", "", 0)
    return _Parser(rule).parse()


def _field_expression(name: str, runs: dict[str, int], scale: float) -> Any:
    """The SQL value of field ``name`` for the customer of the outer query."""
    if name in ("country", "source", "language"):
        return getattr(Customer, name)
    paid = (Order.customer_id == Customer.id, Order.status == "paid")
    if name == "orders":
        return select(func.count(Order.id)).where(*paid).scalar_subquery()
    if name == "revenue":
        total = func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0) * scale
        return select(total).where(*paid).scalar_subquery()
    if name == "days_since_last_order":
        return select(func.max(Order.ordered_at)).where(*paid).scalar_subquery()
    column_name = "clv_12m_minor" if name == "clv_12m" else name
    column = getattr(CustomerScore, column_name)
    value = column * scale if name == "clv_12m" else column
    return (
        select(value)
        .where(
            CustomerScore.customer_id == Customer.id,
            CustomerScore.model_run_id == runs.get(column_name, -1),
        )
        .scalar_subquery()
    )


_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_rule(session: Session, rule: str, currency: str = "USD") -> ColumnElement[bool]:
    """The SQL condition on ``customers`` for ``rule`` (values bound as parameters).

    Scores come from the current model runs (see
    :func:`soloist.domain.scoring.scores.current_runs`);
    money fields are in ``currency`` units.
    """
    tree = parse_rule(rule)
    context = _Context(current_runs(session), float(minor_to_decimal(1, currency)))
    return _compile(tree, context)


@dataclass(frozen=True)
class _Context:
    runs: dict[str, int]
    scale: float
    now: dt.datetime = dataclass_field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _compile(node: Node, ctx: _Context) -> ColumnElement[bool]:
    head = node[0]
    if head in ("and", "or"):
        parts = [_compile(child, ctx) for child in node[1:]]
        return and_(*parts) if head == "and" else or_(*parts)
    if head == "not":
        return not_(_compile(node[1], ctx))
    name = node[1]
    if FIELDS[name].kind == "tag":

        def has(tag: Any) -> ColumnElement[bool]:
            return exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag == tag)

        if head == "cmp":
            return has(node[3]) if node[2] == "=" else not_(has(node[3]))
        if head == "in":
            condition = or_(*(has(v) for v in node[2]))
            return not_(condition) if node[3] else condition
        return (
            not_(exists().where(CustomerTag.customer_id == Customer.id))
            if not node[2]
            else (exists().where(CustomerTag.customer_id == Customer.id))
        )
    expression = _field_expression(name, ctx.runs, ctx.scale)
    if head == "cmp" and name == "days_since_last_order":
        # "more than N days since the last order" = "the last order is before now - N days"
        flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[node[2]]
        threshold = ctx.now - dt.timedelta(days=float(node[3]))
        return _OPS[flipped](expression, threshold)
    if head == "null":
        return expression.is_not(None) if node[2] else expression.is_(None)
    if head == "in":
        condition = expression.in_(list(node[2]))
        return not_(condition) if node[3] else condition
    return _OPS[node[2]](expression, node[3])


def count_rule(session: Session, rule: str, currency: str = "USD") -> int:
    """How many active customers match ``rule`` right now."""
    condition = compile_rule(session, rule, currency)
    statement = select(func.count(Customer.id)).where(Customer.status == "active", condition)
    return int(session.scalar(statement) or 0)


def customers_matching(session: Session, rule: str, currency: str = "USD") -> list[int]:
    """Ids of the active customers matching ``rule``, ascending."""
    condition = compile_rule(session, rule, currency)
    statement = select(Customer.id).where(Customer.status == "active", condition)
    return list(session.scalars(statement.order_by(Customer.id)))


def save_rule_segment(
    session: Session,
    name: str,
    rule: str,
    actor: str,
    currency: str = "USD",
    description: str | None = None,
) -> tuple[Segment, int]:
    """Create or update the rule segment ``name``; returns it with its live count."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationError("A segment name must have 1 to 128 characters.", field="name")
    count = count_rule(session, rule, currency)  # validates the rule first
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None and segment.kind != "rule":
        raise ConflictError(
            f"{name!r} is a {segment.kind} segment made by the analytics; choose another name."
        )
    if segment is None:
        segment = Segment(name=name, kind="rule")
        session.add(segment)
    segment.rule = rule
    segment.description = description
    session.flush()
    record_audit(session, actor, "segment.saved", "segment", segment.id, {"rule": rule})
    return segment, count


def list_segments(session: Session, currency: str = "USD") -> list[dict[str, Any]]:
    """Every segment with its size: live for rule segments, as of the latest run otherwise."""
    members = dict(
        session.execute(
            select(SegmentMember.segment_id, func.count()).group_by(SegmentMember.segment_id)
        ).all()
    )
    result = []
    for segment in session.scalars(select(Segment).order_by(Segment.kind, Segment.name)):
        if segment.kind == "rule" and segment.rule:
            try:
                count: int | None = count_rule(session, segment.rule, currency)
                error = None
            except RuleSyntaxError as exc:
                count, error = None, exc.message
        else:
            count, error = int(members.get(segment.id, 0)), None
        result.append(
            {
                "id": segment.id,
                "name": segment.name,
                "kind": segment.kind,
                "rule": segment.rule,
                "description": segment.description,
                "customers": count,
                "error": error,
            }
        )
    return result
