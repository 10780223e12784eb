"""A blind index: search encrypted names by keyed hashes of their words.

Names are encrypted with a fresh nonce, so the database cannot compare them. Instead, each
record's searchable text is cut into tokens and an HMAC of each token (under the workspace's
lookup key) is stored in ``search_tokens``. A search cuts the query the same way and asks for
the records that hold every one of its tokens.

Tokens (after Unicode case folding and removing accents, NFKD):

- a word in an alphabetic script gives each of its prefixes of 2 to ``MAX_PREFIX`` characters,
  so "ali" finds "Alice" and "Alicia" (search as you type; a one-letter query finds no name);
- a run of CJK characters, which has no spaces between words, gives every substring of 1 to
  ``MAX_CJK_GRAM`` characters, so "小明" finds "王小明".

What the file reveals is which records share a token (how common a word is), never the word;
the same trade as the e-mail and phone lookup hashes (docs/security.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, intersect, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from soloist.storage.crypto import Keyring
from soloist.storage.keys import keyring_for
from soloist.storage.models import SearchToken

MAX_PREFIX = 20
MAX_CJK_GRAM = 4
TOKEN_CHARS = 32  # hex characters of the HMAC kept: 128 bits
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_WORD = re.compile(r"\w+")


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _runs(text: str) -> Iterable[tuple[bool, str]]:
    """(is CJK, run) for each word or CJK run of ``text``."""
    for word in _WORD.findall(_folded(text)):
        position = 0
        for match in _CJK.finditer(word):
            if match.start() > position:
                yield False, word[position : match.start()]
            yield True, match.group()
            position = match.end()
        if position < len(word):
            yield False, word[position:]


def index_terms(text: str) -> set[str]:
    """The plain tokens stored for ``text``."""
    terms: set[str] = set()
    for cjk, run in _runs(text):
        if cjk:
            for size in range(1, MAX_CJK_GRAM + 1):
                terms.update(run[i : i + size] for i in range(len(run) - size + 1))
        else:
            terms.update(run[:size] for size in range(2, min(len(run), MAX_PREFIX) + 1))
    return terms


def query_terms(text: str) -> set[str]:
    """The tokens a record must hold to match the query ``text`` (empty: nothing to look for)."""
    terms: set[str] = set()
    for cjk, run in _runs(text):
        if cjk:
            if len(run) <= MAX_CJK_GRAM:
                terms.add(run)
            else:
                size = MAX_CJK_GRAM
                terms.update(run[i : i + size] for i in range(len(run) - size + 1))
        elif len(run) >= 2:
            terms.add(run[:MAX_PREFIX])
    return terms


def hashed(keyring: Keyring, scope: str, terms: Iterable[str]) -> set[str]:
    return {keyring.lookup_hash(term, f"search:{scope}")[:TOKEN_CHARS] for term in terms}


def index_records(
    session: Session, scope: str, texts: Mapping[int, Sequence[str | None]], *, fresh: bool = False
) -> None:
    """Make ``search_tokens`` hold the tokens of ``texts`` (record id → its searchable texts)
    for those records; ``fresh``: the records are new, so there is nothing to delete first."""
    if not texts:
        return
    from soloist.storage.bulk import among, bulk_insert, chunks  # Polars: only when writing

    keyring = keyring_for(session)
    ids = list(texts)
    if not fresh:
        for part in chunks(ids):
            session.execute(
                delete(SearchToken).where(
                    SearchToken.scope == scope, among(session, SearchToken.record_id, part)
                )
            )
    cache: dict[str, set[str]] = {}
    rows: list[tuple[str, str, int]] = []
    for record_id, values in texts.items():
        tokens: set[str] = set()
        for value in values:
            if value:
                if value not in cache:
                    cache[value] = hashed(keyring, scope, index_terms(value))
                tokens |= cache[value]
        rows.extend((scope, token, record_id) for token in tokens)
    session.flush()
    bulk_insert(session, SearchToken, ("scope", "token", "record_id"), rows)


def forget_records(session: Session, scope: str, ids: Sequence[int]) -> None:
    from soloist.storage.bulk import among, chunks

    for part in chunks(list(ids)):
        session.execute(
            delete(SearchToken).where(
                SearchToken.scope == scope, among(session, SearchToken.record_id, part)
            )
        )


def matching_records(session: Session, scope: str, text: str) -> Select[Any] | None:
    """A query for the ids of the records whose text holds every token of ``text``, or None
    when ``text`` has nothing to search by (a single letter, punctuation)."""
    tokens = sorted(hashed(keyring_for(session), scope, query_terms(text)))
    if not tokens:
        return None
    # One index range per token (the primary key starts with scope and token), intersected: a
    # GROUP BY over all of them would let a database walk every token of the scope instead.
    per_token = [
        select(SearchToken.record_id).where(SearchToken.scope == scope, SearchToken.token == token)
        for token in tokens
    ]
    if len(per_token) == 1:
        return per_token[0]
    return select(intersect(*per_token).subquery().c.record_id)
