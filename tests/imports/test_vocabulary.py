"""What storage and the import cleaners must agree on is written once and agrees with the tables."""

from __future__ import annotations

import pytest
from sqlalchemy import String

from soloist.domain.customers.records import CUSTOMER_FIELDS
from soloist.imports.synonyms import CHANNELS, DIRECTIONS
from soloist.storage.models import (
    INTERACTION_CHANNELS,
    INTERACTION_DIRECTIONS,
    SURVEY_KINDS,
    Base,
    Customer,
)
from soloist.storage.types import EncryptedString, SealedString
from soloist.vocabulary import SURVEY_SCALES, WIDTHS, clipped


@pytest.mark.parametrize(("column", "width"), sorted(WIDTHS.items()))
def test_every_width_an_import_cuts_to_is_the_width_of_its_column(column: str, width: int) -> None:
    table, name = column.split(".")
    stored = Base.metadata.tables[table].c[name].type
    if isinstance(stored, SealedString):  # a tag: sealed to a width of its own
        assert stored.max_chars == width
    elif isinstance(stored, EncryptedString):  # ciphertext has no width; the limit stays ours
        assert width in (200, 255)
    else:
        assert isinstance(stored, String)
        assert stored.length == width


def _sized(name: str) -> bool:
    stored = Customer.__table__.c[name].type
    return isinstance(stored, String) and stored.length is not None


def test_every_customer_field_stored_as_sized_text_has_its_width() -> None:
    sized = [name for name in CUSTOMER_FIELDS if _sized(name)]
    assert sized  # name, company, country, language
    assert [name for name in sized if f"customers.{name}" not in WIDTHS] == []


def test_text_is_cut_to_its_column_and_blank_text_is_none() -> None:
    assert clipped("x" * 300, "customers.company") == "x" * 200
    assert clipped("", "customers.company") is None
    assert clipped(None, "customers.company") is None


def test_the_survey_scales_are_one_definition_for_storage_and_imports() -> None:
    assert SURVEY_KINDS is SURVEY_SCALES
    assert SURVEY_SCALES["nps"] == (0, 10)


def test_the_channels_and_directions_imports_understand_are_the_stored_ones() -> None:
    assert sorted(CHANNELS) == sorted(INTERACTION_CHANNELS)
    assert sorted(DIRECTIONS) == sorted(INTERACTION_DIRECTIONS)
