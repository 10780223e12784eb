from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.mailserver import SmtpServer

from soloist.config import Settings
from soloist.storage.database import Database


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_database(database: Database, smtp_server: SmtpServer) -> Database:
    """The ``database`` fixture with its settings pointed at the loopback SMTP server."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    # Quiet hours off unless a test turns them on: the tests run at any hour of the day.
    values["quiet_hours"] = ""
    database.settings = Settings(**{**database.settings.model_dump(), **values})
    return database
