"""Migration fa798424520a: feedback gets its own id (reviews, survey answers) and survey answers
their order; up, down and up again on every engine, with rows in the tables."""

from __future__ import annotations

from sqlalchemy import inspect, text

from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.database import create_database_engine
from soloist.storage.migrate import current_revision, downgrade_database, upgrade_database

REVISION, BEFORE = "fa798424520a", "e5e9db581a3f"


def _columns(engine, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_feedback_ids_go_up_down_and_up_again(empty_database_url: str) -> None:
    engine = create_database_engine(
        empty_database_url, Keyring.from_master_key(generate_master_key())
    )
    try:
        upgrade_database(engine, BEFORE)
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO reviews (rating, published_at) VALUES (4, '2024-01-05 10:00:00')")
            )
        upgrade_database(engine, REVISION)
        assert {"external_id"} <= _columns(engine, "reviews")
        assert {"external_id", "order_id"} <= _columns(engine, "survey_responses")
        uniques = inspect(engine).get_unique_constraints("reviews")
        assert [c["column_names"] for c in uniques if c["name"] == "uq_reviews_external_id"] == [
            ["external_id"]
        ]
        downgrade_database(engine, BEFORE)
        assert current_revision(engine) == BEFORE
        assert "external_id" not in _columns(engine, "reviews")
        assert not {"external_id", "order_id"} & _columns(engine, "survey_responses")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM reviews")).scalar() == 1
        upgrade_database(engine, REVISION)
        assert "external_id" in _columns(engine, "reviews")
    finally:
        engine.dispose()
